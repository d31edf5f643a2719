"""The file store ([image] store = file): hashes, atomic rename, cleanup on
failure. The database store is tested against PostgreSQL in
tests/functional/test_image_api.py."""
import hashlib
import io
import os

import pytest

from nova_lite import exception
from nova_lite.api.image import store
from nova_lite.api.image.store import filesystem
from nova_lite.conf import CONF

IMAGE_ID = "0b5a4a8e-3f5e-4a0c-9a4c-6d1f2a3b4c5d"


@pytest.fixture
def storage_dir(tmp_path):
    directory = tmp_path / "images"
    CONF.set_override("storage_dir", str(directory), group="image")
    CONF.set_override("store", "file", group="image")
    yield directory
    CONF.clear_override("store", group="image")
    CONF.clear_override("storage_dir", group="image")


def test_write_hashes_and_places_the_file(storage_dir):
    data = os.urandom(3 * filesystem.CHUNK_SIZE + 11)
    written = store.write(IMAGE_ID, io.BytesIO(data), max_size=len(data))
    assert written.size == len(data)
    assert written.checksum == hashlib.md5(data).hexdigest()
    assert written.os_hash_algo == "sha512"
    assert written.os_hash_value == hashlib.sha512(data).hexdigest()
    assert os.listdir(storage_dir) == [IMAGE_ID]
    with store.open_file(IMAGE_ID) as handle:
        assert handle.read() == data


def test_empty_upload(storage_dir):
    written = store.write(IMAGE_ID, io.BytesIO(b""), max_size=10)
    assert written.size == 0
    assert written.checksum == hashlib.md5(b"").hexdigest()


def test_too_large_leaves_nothing_behind(storage_dir):
    with pytest.raises(exception.RequestTooLarge):
        store.write(IMAGE_ID, io.BytesIO(b"x" * (filesystem.CHUNK_SIZE + 1)),
                    max_size=filesystem.CHUNK_SIZE)
    assert os.listdir(storage_dir) == []


class FailingStream:
    def __init__(self):
        self.calls = 0

    def read(self, size):
        self.calls += 1
        if self.calls > 1:
            raise OSError("connection reset")
        return b"partial"


def test_failed_stream_keeps_the_previous_file_and_removes_the_temporary(storage_dir):
    store.write(IMAGE_ID, io.BytesIO(b"old"), max_size=100)
    with pytest.raises(OSError):
        store.write(IMAGE_ID, FailingStream(), max_size=100)
    assert os.listdir(storage_dir) == [IMAGE_ID]
    with store.open_file(IMAGE_ID) as handle:
        assert handle.read() == b"old"


def test_check_size():
    store.check_size(10, 10)
    with pytest.raises(exception.RequestTooLarge):
        store.check_size(11, 10)


def test_open_and_delete_missing_file(storage_dir):
    assert store.open_file(IMAGE_ID) is None
    store.delete(IMAGE_ID)                          # no error when already gone
    store.write(IMAGE_ID, io.BytesIO(b"x"), max_size=10)
    store.delete(IMAGE_ID)
    assert store.open_file(IMAGE_ID) is None


def test_the_file_knows_its_size(storage_dir):
    store.write(IMAGE_ID, io.BytesIO(b"12345"), max_size=10)
    with store.open_file(IMAGE_ID) as handle:
        assert handle.size == 5
        assert handle.fileno() >= 0                 # sendfile stays possible
