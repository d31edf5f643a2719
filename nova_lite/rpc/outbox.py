"""The transactional outbox: accepted work is never lost.

    API request ──one transaction──> instance row + outbox row ──commit──> 202
                                                      │
    Relay thread (woken after commit, and every [api] outbox_sweep_interval;
    after a wake it lingers [api] outbox_linger s so one sweep takes the rows
    of many requests)
       SELECT unsent ... FOR UPDATE SKIP LOCKED  ──publish, broker confirm──>  mark sent

If every broker is down the rows wait and the API keeps answering; the relay
publishes them when a broker returns. Several relays (one per API worker)
never send one row at the same time (SKIP LOCKED); a crash between confirm
and mark-sent re-sends a row, which idempotent handlers absorb.
"""
import datetime
import logging
import threading

from sqlalchemy import bindparam, delete, insert, select, update

from nova_lite.conf import CONF
from nova_lite.db import models
from nova_lite.db import session as db_session
from nova_lite.rpc import envelope as envelope_mod
from nova_lite.rpc import publisher as publisher_mod

LOG = logging.getLogger(__name__)

BATCH = 200
KEEP_SENT = datetime.timedelta(hours=1)


_INSERT = insert(models.OutboxMessage.__table__)


def enqueue(session, message, context=None):
    """Add ``message`` to the outbox inside the caller's transaction."""
    enqueue_many(session, [message], context)


def enqueue_many(session, messages, context=None):
    """Add ``messages`` to the outbox inside the caller's transaction, in one
    INSERT (executemany); wake the relay after commit."""
    if not messages:
        return
    now = models.utcnow()
    session.connection().execute(_INSERT, [
        {"routing_key": m.topic, "created_at": now,
         "body": envelope_mod.build(m.method, m.args, context)}
        for m in messages])


_O = models.OutboxMessage
_UNSENT = (select(_O.id, _O.routing_key, _O.body).where(_O.sent_at.is_(None))
           .order_by(_O.id).limit(bindparam("limit")).with_for_update(skip_locked=True))
_MARK_SENT = (update(_O.__table__).where(_O.id.in_(bindparam("ids", expanding=True)))
              .values(sent_at=bindparam("now")))


def flush(publisher=None, limit=BATCH):
    """Publish up to ``limit`` unsent rows; return how many were sent."""
    publisher = publisher or publisher_mod.get_publisher()
    sent = []
    with db_session.transaction() as session:
        connection = session.connection()       # Core: prebuilt statements, no ORM step
        rows = connection.execute(_UNSENT, {"limit": limit}).all()
        futures = [(row.id, publisher.submit_envelope(row.routing_key, row.body))
                   for row in rows]
        error = None
        timeout = CONF.rpc.publish_timeout + 5
        try:
            for row_id, future in futures:
                try:
                    future.result(timeout=timeout)
                    sent.append(row_id)
                except Exception as exc:  # noqa: BLE001 - leave it for the next sweep
                    error = exc
        finally:
            if sent:
                connection.execute(_MARK_SENT, {"ids": sent, "now": models.utcnow()})
    if error is not None:
        raise publisher_mod.PublishError(f"{len(rows) - len(sent)} outbox messages not "
                                         f"confirmed: {error}")
    return len(sent)


def purge_sent(older_than=KEEP_SENT):
    cutoff = models.utcnow() - older_than
    with db_session.transaction() as session:
        session.execute(delete(models.OutboxMessage)
                        .where(models.OutboxMessage.sent_at < cutoff))


class Relay:
    """A daemon thread that drains the outbox; ``wake()`` after each commit."""

    def __init__(self, interval, publisher=None, linger=0.0, sweep=None):
        self.interval = interval
        self.linger = linger
        self._sweep = sweep or (lambda: flush(self.publisher))
        self.publisher = publisher
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="outbox-relay",
                                            daemon=True)
            self._thread.start()
        return self

    def wake(self):
        self._wake.set()

    def stop(self):
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self):
        backoff = self.interval
        sweeps = 0
        while not self._stop.is_set():
            if self._wake.wait(backoff) and self.linger:
                # Gather: the requests committing meanwhile ride this sweep
                # (one transaction and one confirm wait for all of them).
                self._stop.wait(self.linger)
            self._wake.clear()
            try:
                while self._sweep() == BATCH and not self._stop.is_set():
                    pass
                backoff = self.interval
                sweeps += 1
                if sweeps % 600 == 0:
                    purge_sent()
            except publisher_mod.PublishError as exc:
                LOG.warning("outbox relay cannot reach the broker (%s); will retry", exc)
                backoff = min(backoff * 2, 10.0)
            except Exception:  # noqa: BLE001 - the relay must outlive any error
                LOG.exception("outbox relay failed; will retry")
                backoff = min(backoff * 2, 10.0)
