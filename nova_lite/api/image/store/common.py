"""What both stores share: the hashes of what was written, and the size limit."""
import dataclasses
import hashlib

from nova_lite import exception

HASH_ALGO = "sha512"


@dataclasses.dataclass(frozen=True)
class Written:
    size: int
    checksum: str           # md5 hex, Glance's ``checksum``
    os_hash_algo: str
    os_hash_value: str


def check_size(size, max_size):
    """413 if ``size`` bytes is more than an image may hold."""
    if size > max_size:
        raise exception.RequestTooLarge(
            f"Image exceeds the storage quota: the upload is larger than {max_size} "
            "bytes.")


class Reader:
    """Reads a request body in blocks, hashing and counting as it goes."""

    def __init__(self, stream, max_size):
        self.stream = stream
        self.max_size = max_size
        self.size = 0
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._secure = hashlib.new(HASH_ALGO)

    def read(self, n):
        """Up to ``n`` bytes (b"" at the end); RequestTooLarge past max_size."""
        chunk = self.stream.read(n)
        if chunk:
            self.size += len(chunk)
            check_size(self.size, self.max_size)
            self._md5.update(chunk)
            self._secure.update(chunk)
        return chunk

    def read_full(self, n):
        """Exactly ``n`` bytes, fewer only at the end of the body."""
        block = bytearray()
        while len(block) < n:
            chunk = self.read(n - len(block))
            if not chunk:
                break
            block += chunk
        return bytes(block)

    def written(self):
        return Written(size=self.size, checksum=self._md5.hexdigest(),
                       os_hash_algo=HASH_ALGO, os_hash_value=self._secure.hexdigest())
