"""One SQLAlchemy engine per process and the ``transaction()`` unit of work.

A pooled connection that sat idle for PING_IF_IDLE seconds is checked with a
``SELECT 1`` before use (and replaced if PostgreSQL went away meanwhile);
one in steady use is not: a ping per transaction (``pool_pre_ping``) was a
fifth of the API's time in a flood. A connection that dies in use fails its
request once (the API answers 503) and the pool replaces it.

Every connection carries the ``[quota]`` options as session settings
(nova_lite.db.quotas.connect_options), which the triggers that count quota
usage read."""
import contextlib
import os
import threading
import time

from sqlalchemy import create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from nova_lite.conf import CONF
from nova_lite.db import quotas

PING_IF_IDLE = 5.0

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
                # [quota] as session settings, for the triggers that count usage
                connect_args={"options": quotas.connect_options()},
                future=True,
            )
            ping_when_idle(_engine)
            _engine_pid = os.getpid()
            _factory = sessionmaker(bind=_engine, expire_on_commit=False)
        return _engine


def ping_when_idle(engine):
    """Check a connection idle for PING_IF_IDLE seconds before handing it out."""
    event.listen(engine, "checkin", _checked_in)
    event.listen(engine, "checkout", _checked_out)


def _checked_in(dbapi_connection, record):
    record.info["idle_since"] = time.monotonic()


def _checked_out(dbapi_connection, record, proxy):
    since = record.info.get("idle_since")
    if since is None or time.monotonic() - since < PING_IF_IDLE:
        return
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        dbapi_connection.rollback()
    except Exception as exc:  # noqa: BLE001 - any failure: the pool opens a new one
        raise sa_exc.DisconnectionError(f"stale database connection: {exc}") from exc


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
