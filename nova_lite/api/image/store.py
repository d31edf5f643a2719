"""Image files on local disk, one per image: ``<[image] storage_dir>/<image id>``.

A write streams into a hidden temporary file in the same directory, hashing as
it goes, and renames it into place only when complete, so a reader never sees
a partial file; on any failure the temporary file is removed.
"""
import contextlib
import dataclasses
import hashlib
import os
import tempfile

from nova_lite import exception
from nova_lite.conf import CONF

CHUNK_SIZE = 64 * 1024
HASH_ALGO = "sha512"


@dataclasses.dataclass(frozen=True)
class Written:
    size: int
    checksum: str           # md5 hex, Glance's ``checksum``
    os_hash_algo: str
    os_hash_value: str


def path(image_id):
    return os.path.join(CONF.image.storage_dir, image_id)


def check_size(size, max_size):
    """413 if ``size`` bytes is more than an image may hold."""
    if size > max_size:
        raise exception.RequestTooLarge(
            f"Image exceeds the storage quota: the upload is larger than {max_size} "
            "bytes.")


def write(image_id, stream, max_size):
    """Copy ``stream`` (anything with ``read(n)``) to the image's file.

    Raises RequestTooLarge as soon as more than ``max_size`` bytes arrive."""
    directory = CONF.image.storage_dir
    os.makedirs(directory, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{image_id}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            written = _copy(stream, out, max_size)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path(image_id))
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return written


def _copy(stream, out, max_size):
    md5 = hashlib.md5(usedforsecurity=False)
    secure = hashlib.new(HASH_ALGO)
    size = 0
    while True:
        chunk = stream.read(CHUNK_SIZE)
        if not chunk:
            break
        size += len(chunk)
        check_size(size, max_size)
        md5.update(chunk)
        secure.update(chunk)
        out.write(chunk)
    return Written(size=size, checksum=md5.hexdigest(), os_hash_algo=HASH_ALGO,
                   os_hash_value=secure.hexdigest())


def open_file(image_id):
    """The image's file opened for binary reading, or None if there is none."""
    try:
        return open(path(image_id), "rb")
    except FileNotFoundError:
        return None


def delete(image_id):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path(image_id))
