"""``[image] store = database`` (the default): an image's data is rows of
``image_chunks (image_id, seq, data bytea)`` in PostgreSQL, 1 MiB each, so any
controller serves any image and PostgreSQL stays the only state.

Writing. The body is read a chunk at a time (hashed and counted as it comes:
never more than one chunk in memory), and each chunk is inserted in a
transaction of its own, only while the image is still ``saving`` (the insert
takes a share lock on the image row, so it waits for a delete in progress and
then finds the image deleted). The chunks become visible with the image:
lifecycle.py makes the image ``active`` (and records its size and hashes) in
one transaction after the last chunk, and the Image API reads only active
images, so a reader never sees part of an image. Short transactions rather
than one for the whole upload: a client that uploads slowly (or stalls) holds
no transaction or pooled connection open between chunks, and no lock but the
moment of each insert. The cost: chunks of an upload cut short by a crash of
the API process stay until the image is deleted (it stays ``saving``; the
next write of the image, or its delete, removes them). A failed write removes
what it wrote.

Reading. One short query by primary key per chunk, each on a pooled
connection returned at once: a slow download holds no transaction (and no
snapshot that would keep VACUUM from its work) open. An active image's chunks
never change, so reading them one by one is consistent; if the image is
deleted while being read, the download stops short (the client sees fewer
bytes than Content-Length).

Images written before this store existed (files under ``[image]
storage_dir``) are still read from there, on the controller that has them,
and deleted from there.
"""
import io
import logging

import sqlalchemy as sa

from nova_lite import exception
from nova_lite.api.image.store import filesystem
from nova_lite.api.image.store.common import Reader
from nova_lite.db import models
from nova_lite.db.session import get_engine, transaction

LOG = logging.getLogger(__name__)
CHUNK_SIZE = 1024 * 1024
Chunk = models.ImageChunk

_INSERT = sa.text(
    "INSERT INTO image_chunks (image_id, seq, data) "
    "SELECT id, :seq, :data FROM images "
    "WHERE id = :image_id AND status = 'saving' AND NOT deleted "
    "FOR SHARE").bindparams(sa.bindparam("data", type_=sa.LargeBinary))


def write(image_id, stream, max_size):
    """Store ``stream`` as the chunks of a ``saving`` image; a ``Written``."""
    _delete_chunks(image_id)            # what an upload cut short left
    reader = Reader(stream, max_size)
    seq = 0
    try:
        while True:
            block = reader.read_full(CHUNK_SIZE)
            if not block and seq:
                break
            _insert(image_id, seq, block)
            seq += 1
            if len(block) < CHUNK_SIZE:
                break
    except BaseException:
        _discard(image_id)
        raise
    return reader.written()


def _insert(image_id, seq, data):
    with get_engine().begin() as conn:
        inserted = conn.execute(_INSERT, {"image_id": image_id, "seq": seq,
                                          "data": data}).rowcount
    if inserted != 1:
        raise exception.Conflict(f"Image {image_id} was deleted during the upload.")


def _discard(image_id):
    """Remove a failed write's chunks; never hides the error that caused it."""
    try:
        _delete_chunks(image_id)
    except Exception:
        LOG.exception("could not remove the chunks of image %s after a failed upload",
                      image_id)


def _delete_chunks(image_id):
    with transaction() as session:
        session.execute(sa.delete(Chunk).where(Chunk.image_id == image_id))


class ChunkReader(io.RawIOBase):
    """An image's chunks as a binary file: each read past the chunk in hand
    fetches the next one (one query, no transaction left open)."""

    def __init__(self, image_id, count, size):
        super().__init__()
        self.image_id = image_id
        self.size = size
        self._count = count
        self._seq = 0
        self._chunk = memoryview(b"")
        self._pos = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        while self._pos >= len(self._chunk):
            if self._seq >= self._count:
                return 0
            self._chunk = memoryview(_fetch(self.image_id, self._seq))
            self._seq += 1
            self._pos = 0
        n = min(len(buffer), len(self._chunk) - self._pos)
        buffer[:n] = self._chunk[self._pos:self._pos + n]
        self._pos += n
        return n


def _fetch(image_id, seq):
    with get_engine().connect() as conn:
        data = conn.execute(sa.select(Chunk.data).where(
            Chunk.image_id == image_id, Chunk.seq == seq)).scalar()
    if data is None:
        raise OSError(f"chunk {seq} of image {image_id} is gone: the image was "
                      "deleted while it was read")
    return data


def open_file(image_id):
    """The image's data as a ``ChunkReader``, or None if there is none."""
    with get_engine().connect() as conn:
        count, size = conn.execute(sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(sa.func.octet_length(Chunk.data)), 0),
        ).where(Chunk.image_id == image_id)).one()
    if not count:
        return filesystem.open_file(image_id)       # written before this store
    return ChunkReader(image_id, count, size)


def delete(image_id):
    _delete_chunks(image_id)
    filesystem.delete(image_id)
