"""``[image] store = file``: one file per image,
``<[image] storage_dir>/<image id>``, on a disk of this controller or on a
filesystem every controller mounts there (NFS, CephFS).

A write streams into a hidden temporary file in the same directory, hashing as
it goes, and renames it into place only when complete, so a reader never sees
a partial file; on any failure the temporary file is removed.
"""
import contextlib
import io
import os
import tempfile

from nova_lite.api.image.store.common import Reader
from nova_lite.conf import CONF

CHUNK_SIZE = 64 * 1024


class ImageFile(io.FileIO):
    """An image's file; ``size`` is its length. A real file, so a server that
    can (gunicorn's ``wsgi.file_wrapper``) sends it with sendfile."""

    @property
    def size(self):
        return os.fstat(self.fileno()).st_size


def path(image_id):
    return os.path.join(CONF.image.storage_dir, image_id)


def write(image_id, stream, max_size):
    """Copy ``stream`` (anything with ``read(n)``) to the image's file.

    Raises RequestTooLarge as soon as more than ``max_size`` bytes arrive."""
    directory = CONF.image.storage_dir
    os.makedirs(directory, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{image_id}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            reader = Reader(stream, max_size)
            while chunk := reader.read(CHUNK_SIZE):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path(image_id))
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return reader.written()


def open_file(image_id):
    """The image's file opened for binary reading, or None if there is none."""
    try:
        return ImageFile(path(image_id), "rb")
    except FileNotFoundError:
        return None


def delete(image_id):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path(image_id))
