"""Which handler failures are worth retrying, and how long to wait between tries.

A handler fails for one of three kinds of reason, and each is settled its own
way by the RPC server (see rpc/server.py):

- the message is bad (``PoisonMessage``: no envelope, unknown method, bad
  arguments): no retry can fix it -> dead-lettered at once;
- something it needs is briefly away (PostgreSQL restarting or refusing
  connections, a deadlock, the broker failing over while the handler's
  follow-up casts were being confirmed): :func:`is_transient` -> retried in
  place with the growing delays of :class:`Backoff`, for up to
  ``[rpc] retry_window`` seconds, then requeued (one delivery spent);
- anything else (a bug, a host-side error): requeued at once, as before;
  after ``[rpc] delivery_limit`` deliveries it is dead-lettered.

Only transient failures wait: a bug retried with delays would hold a
prefetch slot for the whole window per message for nothing, while an outage
of a dependency fails every message alike, so waiting on it is the right
back-pressure (the worker stops taking work it cannot do, and the broker
keeps the rest of the queue safe)."""
import time

from nova_lite.conf import CONF
from nova_lite.db import errors as db_errors
from nova_lite.rpc import publisher

FIRST_DELAY = 0.5
MAX_DELAY = 8.0

class Transient(Exception):
    """Raised by a handler to say: not now, but this will work later (a
    resource it needs is briefly unavailable). Retried like a database outage."""


def is_transient(exc):
    """True if ``exc`` says a dependency is briefly away rather than that the
    message or the code is wrong."""
    if isinstance(exc, (Transient, publisher.PublishError)):
        return not isinstance(exc, publisher.Unroutable)   # nothing bound: not a blip
    if db_errors.unavailable(exc) or db_errors.conflict(exc):
        return True                        # see nova_lite.db.errors
    return isinstance(exc, ConnectionError)   # refused / reset sockets (OSError kind)


class Backoff:
    """The retry-in-place schedule of one delivery: FIRST_DELAY, then twice
    the last, at most MAX_DELAY, while the first failure is less than
    ``[rpc] retry_window`` seconds ago. The last wait is cut to end with the
    window, so the delivery is given back in time."""

    def __init__(self, now=None):
        self.started = time.monotonic() if now is None else now
        self.tries = 0

    def next_delay(self, now=None):
        """Seconds to wait before the next try, or None: the window is spent."""
        now = time.monotonic() if now is None else now
        left = self.started + CONF.rpc.retry_window - now
        if left <= 0:
            return None
        delay = min(FIRST_DELAY * 2 ** self.tries, MAX_DELAY, left)
        self.tries += 1
        return delay
