"""What a database error says about trying again, in one place for the API
(503 with Retry-After, or 409) and the workers (retried in place, rpc/retry.py).

- ``unavailable``: PostgreSQL is briefly away: restarting, shutting down,
  refusing or dropping connections, out of connections, or no pooled
  connection could be had. The transaction rolled back (db.session.transaction)
  and the same work succeeds later.
- ``conflict``: PostgreSQL aborted the transaction to break a lock cycle, a
  serialization failure or a lock it could not get: it changed nothing and
  may be tried again at once."""
from sqlalchemy import exc as sa_exc

# SQLSTATEs of a server that cannot take the statement now: connection
# exceptions (class 08), insufficient resources (53: too many connections, out
# of memory or disk), and while PostgreSQL stops or starts admin_shutdown
# (57P01: sessions ended by a fast shutdown), crash_shutdown (57P02) and
# cannot_connect_now (57P03). Not the rest of class 57 (a statement timeout
# is the statement's fault, not the server's absence).
UNAVAILABLE_CLASSES = ("08", "53")
UNAVAILABLE_CODES = ("57P01", "57P02", "57P03")
CONFLICT_CODES = ("40P01", "40001", "55P03")   # deadlock, serialization, lock not available


def unavailable(exc):
    if isinstance(exc, (sa_exc.TimeoutError, sa_exc.DisconnectionError)):
        return True              # no pooled connection in pool_timeout / none could be made
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True              # died under the request; the pool has replaced it
    if not isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        return False             # integrity, data, programming errors
    code = getattr(exc.orig, "pgcode", None)
    # None: libpq's own error: it could not connect or lost the connection
    # ("Connection refused" while PostgreSQL restarts).
    return code is None or code[:2] in UNAVAILABLE_CLASSES or code in UNAVAILABLE_CODES


def conflict(exc):
    return (isinstance(exc, sa_exc.DBAPIError)
            and getattr(exc.orig, "pgcode", None) in CONFLICT_CODES)
