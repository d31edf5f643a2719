"""One SQLAlchemy engine per process and the ``transaction()`` unit of work."""
import contextlib
import os
import threading

from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from nova_lite.conf import CONF

_lock = threading.Lock()
_engine = None
_engine_pid = None
_factory = None


def get_engine():
    """The process's engine; a forked child (gunicorn worker) gets its own."""
    global _engine, _engine_pid, _factory
    with _lock:
        if _engine is None or _engine_pid != os.getpid():
            _engine = create_engine(
                CONF.database.connection,
                pool_size=CONF.database.pool_size,
                max_overflow=CONF.database.max_overflow,
                pool_timeout=CONF.database.pool_timeout,
                pool_pre_ping=True,
                future=True,
            )
            _engine_pid = os.getpid()
            _factory = sessionmaker(bind=_engine, expire_on_commit=False)
        return _engine


def reset():
    """Drop the engine (tests that change [database] connection call this)."""
    global _engine, _factory
    with _lock:
        if _engine is not None:
            _engine.dispose()
        _engine = None
        _factory = None


@contextlib.contextmanager
def transaction() -> Session:
    """A session whose work commits on success and rolls back on error."""
    get_engine()
    session = _factory()
    try:
        with session.begin():
            yield session
    finally:
        session.close()


@contextlib.contextmanager
def reader() -> Session:
    """A session for reads only (no commit)."""
    get_engine()
    session = _factory()
    try:
        yield session
    finally:
        session.close()      # detaches objects with their loaded values intact
