"""Where image data lives, chosen by ``[image] store``:

- ``database`` (the default): rows of ``image_chunks`` in PostgreSQL, so every
  controller behind the load balancer serves every image
  (``store/database.py``);
- ``file``: one file per image under ``[image] storage_dir``, for a directory
  every controller shares (NFS, CephFS) or a single controller
  (``store/filesystem.py``).

Both hash while they write (``common.py``), refuse more than ``max_size``
bytes, and leave nothing behind when a write fails. The callers
(``files.py``, ``lifecycle.py``) see only this module: ``check_size``,
``write``, ``open_file``, ``delete``.
"""
from nova_lite.api.image.store import database, filesystem
from nova_lite.api.image.store.common import HASH_ALGO, Written, check_size
from nova_lite.conf import CONF

__all__ = ["CHUNK_SIZE", "HASH_ALGO", "Written", "check_size", "delete", "open_file",
           "write"]

# The buffer a download is sent in.
CHUNK_SIZE = 64 * 1024


def _backend():
    return database if CONF.image.store == "database" else filesystem


def write(image_id, stream, max_size):
    """Store ``stream`` (anything with ``read(n)``) as the image's data; a
    ``Written``. Raises RequestTooLarge as soon as more than ``max_size`` bytes
    arrive; on any failure nothing of this write is left."""
    return _backend().write(image_id, stream, max_size)


def open_file(image_id):
    """The image's data as a binary file-like object (``read(n)``, ``close()``,
    a context manager) with its length in ``size``, or None if there is none."""
    return _backend().open_file(image_id)


def delete(image_id):
    """Remove the image's data; nothing happens if there is none."""
    _backend().delete(image_id)
