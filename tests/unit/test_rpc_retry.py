"""Which failures are retried in place, and the delays between tries."""
import psycopg2
import pytest
from sqlalchemy import exc as sa_exc

from nova_lite.conf import CONF
from nova_lite.rpc import envelope, publisher, retry


class PgError(psycopg2.OperationalError):
    """A psycopg2 error as the server sent it (pgcode is read-only on the real one)."""

    def __init__(self, pgcode):
        super().__init__("from the server")
        self._code = pgcode

    @property
    def pgcode(self):
        return self._code


def operational(pgcode=None, invalidated=False):
    orig = PgError(pgcode) if pgcode else psycopg2.OperationalError("connection refused")
    return sa_exc.OperationalError("SELECT 1", {}, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize("exc", [
    operational(),                           # no server answered
    operational("57P01"),                    # terminating connection: admin shutdown
    operational("57P03"),                    # the database system is starting up
    operational("40P01"),                    # deadlock detected
    operational("53300"),                    # too many connections
    sa_exc.DisconnectionError("stale"),
    sa_exc.TimeoutError("pool exhausted"),
    publisher.PublishError("no confirm"),
    ConnectionRefusedError(111, "refused"),
    retry.Transient("busy"),
], ids=repr)
def test_a_dependency_that_is_briefly_away_is_transient(exc):
    assert retry.is_transient(exc)


@pytest.mark.parametrize("exc", [
    operational("54001"),                    # statement too complex: never better later
    sa_exc.IntegrityError("INSERT", {}, psycopg2.IntegrityError("duplicate")),
    publisher.Unroutable("nothing bound"),
    envelope.PoisonMessage("bad"),
    RuntimeError("bug"),
    KeyError("host"),
], ids=repr)
def test_a_bad_message_or_a_bug_is_not(exc):
    assert not retry.is_transient(exc)


def test_delays_double_up_to_the_cap_and_stop_at_the_window():
    CONF.set_override("retry_window", 30.0, group="rpc")
    try:
        backoff = retry.Backoff(now=100.0)
        assert [backoff.next_delay(now=100.0) for _ in range(6)] == [0.5, 1, 2, 4, 8, 8]
        assert backoff.next_delay(now=125.0) == 5.0       # cut to end with the window
        assert backoff.next_delay(now=130.0) is None
    finally:
        CONF.clear_override("retry_window", group="rpc")


def test_a_zero_window_never_waits():
    CONF.set_override("retry_window", 0.0, group="rpc")
    try:
        assert retry.Backoff(now=1.0).next_delay(now=1.0) is None
    finally:
        CONF.clear_override("retry_window", group="rpc")
