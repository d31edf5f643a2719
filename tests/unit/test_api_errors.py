"""Which errors are a backend briefly away (503 + Retry-After) and which are not."""
import psycopg2
import pytest
import sqlalchemy.exc

from nova_lite.api.middleware import errors
from nova_lite.rpc import call as rpc_call
from nova_lite.rpc import publisher


class PgError(psycopg2.OperationalError):
    """psycopg2's errors carry their SQLSTATE read-only; a stand-in that sets it."""

    def __init__(self, message, pgcode):
        super().__init__(message)
        self._code = pgcode

    @property
    def pgcode(self):
        return self._code


def wrapped(cls, orig, invalidated=False):
    return cls("SELECT 1", {}, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize("exc,backend", [
    (wrapped(sqlalchemy.exc.OperationalError,
             PgError("connection to server failed: Connection refused", None)), "database"),
    (wrapped(sqlalchemy.exc.OperationalError,
             PgError("terminating connection due to administrator command", "57P01")),
     "database"),
    (wrapped(sqlalchemy.exc.OperationalError,
             PgError("the database system is starting up", "57P03")), "database"),
    (wrapped(sqlalchemy.exc.OperationalError, PgError("too many clients", "53300")),
     "database"),
    (wrapped(sqlalchemy.exc.OperationalError,
             PgError("server closed the connection unexpectedly", None), True), "database"),
    (wrapped(sqlalchemy.exc.InterfaceError, psycopg2.InterfaceError("connection already "
                                                                    "closed")), "database"),
    (sqlalchemy.exc.TimeoutError("QueuePool limit of size 20 overflow 10 reached"),
     "database"),
    (publisher.PublishError("no confirm within 5s"), "message bus"),
    (rpc_call.CallTimeout("no reply"), "message bus"),
    # Not a backend away: the request's own fault, a conflict, or a bug.
    (wrapped(sqlalchemy.exc.OperationalError, PgError("deadlock detected", "40P01")), None),
    (wrapped(sqlalchemy.exc.OperationalError, PgError("statement timeout", "57014")), None),
    (wrapped(sqlalchemy.exc.IntegrityError, psycopg2.IntegrityError("duplicate key")), None),
    (wrapped(sqlalchemy.exc.ProgrammingError, psycopg2.ProgrammingError("syntax")), None),
    (KeyError("flavor"), None),
])
def test_transient_backend(exc, backend):
    assert errors.transient_backend(exc) == backend
