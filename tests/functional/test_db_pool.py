"""The connection pool against a real PostgreSQL: a pooled connection that
PostgreSQL dropped while it sat idle is replaced before use, without a ping
per transaction for connections in steady use."""
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from nova_lite.db import session as session_mod


def engine_of_one(url):
    engine = create_engine(url, pool_size=1, max_overflow=0)
    session_mod.ping_when_idle(engine)
    return engine


def backend_pid(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar()


def terminate(url, pid):
    killer = create_engine(url)
    with killer.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
    killer.dispose()


def test_an_idle_connection_postgres_dropped_is_replaced(configured, postgres, monkeypatch):
    url = postgres.url()
    engine = engine_of_one(url)
    first = backend_pid(engine)
    terminate(url, first)
    monkeypatch.setattr(session_mod, "PING_IF_IDLE", 0.0)      # it has been idle "long"
    second = backend_pid(engine)
    assert second != first
    engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged(configured, postgres):
    """The price of no ping per transaction: a connection that dies within
    PING_IF_IDLE of its last use fails its next statement once, as an
    invalidated connection (the API answers 503), and the pool replaces it."""
    url = postgres.url()
    engine = engine_of_one(url)
    first = backend_pid(engine)
    terminate(url, first)
    with pytest.raises(OperationalError) as failed:
        backend_pid(engine)
    assert failed.value.connection_invalidated
    assert backend_pid(engine) != first
    engine.dispose()


def test_a_transaction_whose_connection_dies_half_way_commits_nothing(configured):
    """``transaction()`` rolls back whatever failed under it: a session ended
    by PostgreSQL (here its own, as a fast shutdown ends every session:
    admin_shutdown, 57P01) after a write leaves no trace of it, and the error
    is one the API answers with 503."""
    from nova_lite.api.middleware import errors
    with session_mod.transaction() as session:
        session.execute(text("CREATE TABLE IF NOT EXISTS half_way (n int)"))
    with pytest.raises(OperationalError) as failed:
        with session_mod.transaction() as session:
            session.execute(text("INSERT INTO half_way VALUES (1)"))
            session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
    assert errors.transient_backend(failed.value) == "database"
    with session_mod.transaction() as session:
        assert session.execute(text("SELECT count(*) FROM half_way")).scalar() == 0
        session.execute(text("DROP TABLE half_way"))
