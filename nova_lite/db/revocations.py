"""Token revocation events: what makes a self-contained Fernet token invalid
before its expiry, on every API worker of every host at once.

An event (table ``revocation_events``) names some of user_id, project_id,
audit_id, app_cred_id and an ``issued_before`` moment: a token matching every
named field and issued at or before that moment is revoked. What writes them
(nova_lite.db.identity): logout (audit_id), a user disabled, deleted or given
a new password (user_id), a project disabled or deleted (project_id), a role
assignment removed (user_id + project_id), an application credential deleted
(app_cred_id). Events older than [identity] token_expiration can match no
live token and are pruned.

Each process keeps the events in memory (``RevocationList``), indexed so a
check is a handful of dict lookups, and keeps them current with PostgreSQL
LISTEN/NOTIFY: the writing transaction sends the event on channel
``nova_lite_revocations``; a listener thread per process applies it. On
every (re)connect the listener reloads the events since the last one it had
(with a margin, so events committed out of id order are not missed).

"At once" does not depend on a thread being scheduled: every check first
drains the listener's socket without blocking (notifications PostgreSQL has
delivered are applied before the token is judged). While the listener is not
connected (PostgreSQL restarting, its backend terminated), every check
queries the table for new events instead: slower, never stale. The writer
additionally waits (bounded) until its own process's listener has seen the
event before answering, by which time PostgreSQL has sent it to every
listener.
"""
import datetime
import json
import logging
import os
import select
import threading
import time

import psycopg2
import psycopg2.extensions
from sqlalchemy import delete, select as sa_select, text

from nova_lite.conf import CONF
from nova_lite.db import models
from nova_lite.db.session import get_engine

LOG = logging.getLogger(__name__)

CHANNEL = "nova_lite_revocations"
APPLICATION_NAME = "nova-lite-revocations"
# Reloads ask for events created this long before the newest one seen: a
# transaction that took an id earlier but committed later is still found.
RELOAD_MARGIN = datetime.timedelta(seconds=60)
RECONNECT_DELAY = 1.0
# How often a listener prunes the table and its memory of lapsed events.
PRUNE_INTERVAL = 300.0


def _parse(moment):
    if isinstance(moment, datetime.datetime):
        return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)
    return datetime.datetime.fromisoformat(moment.replace("Z", "+00:00"))


def record(session, issued_before=None, **fields):
    """Write one event in ``session``'s transaction (sent to every listener
    when it commits); its id."""
    fields = {k: v for k, v in fields.items() if v is not None}
    if not fields:
        raise ValueError("a revocation event needs at least one field")
    event = models.RevocationEvent(issued_before=issued_before or models.utcnow(), **fields)
    session.add(event)
    session.flush()
    payload = {"id": event.id, "issued_before": event.issued_before.isoformat(),
               "created_at": event.created_at.isoformat(), **fields}
    session.execute(text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": CHANNEL, "payload": json.dumps(payload)})
    return event.id


def _horizon():
    """Events created before this can match no live token."""
    return models.utcnow() - datetime.timedelta(seconds=CONF.identity.token_expiration + 60)


def prune(session):
    """Drop the events no live token can match; how many."""
    return session.execute(delete(models.RevocationEvent)
                           .where(models.RevocationEvent.created_at < _horizon())).rowcount


class RevocationList:
    """This process's copy of the events, and the listener keeping it current."""

    def __init__(self, reconnect_delay=RECONNECT_DELAY):
        self.reconnect_delay = reconnect_delay
        self._lock = threading.RLock()
        self._seen = {}                     # event id: created_at
        self._newest = None                 # created_at of the newest event seen
        self.by_audit = {}
        self.by_user = {}
        self.by_project = {}
        self.by_user_project = {}
        self.by_app_cred = {}
        self._conn = None                   # the LISTEN connection while up
        self._pruned = time.monotonic()
        self._seen_event = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="revocation-listener",
                                        daemon=True)

    # -- events -----------------------------------------------------------
    def _apply(self, event):
        if event["id"] in self._seen:
            return
        before = _parse(event["issued_before"])
        created = _parse(event["created_at"])
        self._seen[event["id"]] = created
        if self._newest is None or created > self._newest:
            self._newest = created
        user, project = event.get("user_id"), event.get("project_id")
        if event.get("audit_id"):
            index, key = self.by_audit, event["audit_id"]
        elif event.get("app_cred_id"):
            index, key = self.by_app_cred, event["app_cred_id"]
        elif user and project:
            index, key = self.by_user_project, (user, project)
        elif user:
            index, key = self.by_user, user
        else:
            index, key = self.by_project, project
        if key not in index or index[key] < before:
            index[key] = before
        self._seen_event.notify_all()

    def _load(self):
        """Read the events since the newest seen (all live ones at first)."""
        if self._newest is None:
            since = _horizon()
        else:
            since = self._newest - RELOAD_MARGIN
        with get_engine().connect() as conn:
            rows = conn.execute(sa_select(models.RevocationEvent.__table__)
                                .where(models.RevocationEvent.created_at >= since)).all()
        with self._lock:
            for row in rows:
                self._apply(dict(row._mapping))

    # -- the listener -----------------------------------------------------
    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        with self._lock:
            self._drop()

    @property
    def listening(self):
        return self._conn is not None

    def _connect(self):
        """A connection of its own (the engine's settings, outside its pool),
        in autocommit, listening."""
        pooled = get_engine().raw_connection()
        pooled.detach()
        conn = pooled.dbapi_connection
        conn.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
        with conn.cursor() as cursor:
            cursor.execute(f"SET application_name = '{APPLICATION_NAME}'")
            cursor.execute(f"LISTEN {CHANNEL}")
        return conn

    def _run(self):
        while not self._stop.is_set():
            try:
                conn = self._connect()
                try:
                    self._load()            # after LISTEN: nothing falls in between
                except Exception:
                    conn.close()
                    raise
                with self._lock:
                    self._conn = conn
                while not self._stop.is_set() and self._conn is conn:
                    select.select([conn], [], [], 5.0)
                    self._drain()
                    self._housekeep()
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect
                if not self._stop.is_set():
                    LOG.warning("revocation listener: %s; reconnecting", exc)
            with self._lock:
                self._drop()
            self._stop.wait(self.reconnect_delay)

    def _housekeep(self):
        """Every PRUNE_INTERVAL: forget lapsed events, here and in the table
        (any worker may do it; the DELETE is idempotent)."""
        now = time.monotonic()
        if now - self._pruned < PRUNE_INTERVAL:
            return
        self._pruned = now
        horizon = _horizon()
        with self._lock:
            for index in (self.by_audit, self.by_user, self.by_project,
                          self.by_user_project, self.by_app_cred):
                for key in [k for k, before in index.items() if before < horizon]:
                    del index[key]
            for event_id in [i for i, created in self._seen.items() if created < horizon]:
                del self._seen[event_id]
        with get_engine().begin() as conn:
            conn.execute(delete(models.RevocationEvent)
                         .where(models.RevocationEvent.created_at < _horizon()))

    def _drop(self):
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass

    def _drain(self):
        """Apply the notifications waiting on the listener's socket (never
        blocks). A broken connection is dropped: checks then query."""
        with self._lock:
            conn = self._conn
            if conn is None:
                return
            try:
                conn.poll()
            except Exception as exc:  # noqa: BLE001 - psycopg2 errors, closed socket
                if not self._stop.is_set():
                    LOG.warning("revocation listener lost its connection: %s", exc)
                self._drop()
                return
            while conn.notifies:
                note = conn.notifies.pop(0)
                try:
                    self._apply(json.loads(note.payload))
                except (ValueError, KeyError) as exc:
                    LOG.warning("bad revocation notification %r: %s", note.payload, exc)

    # -- checks -----------------------------------------------------------
    def refresh(self):
        """Bring the list up to date: drain the socket, or query the table
        when the listener is down."""
        self._drain()
        if self._conn is None:
            self._load()

    def wait_seen(self, event_id, timeout=2.0):
        """Wait until this process has the event (the writer's acknowledgement)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while event_id not in self._seen:
                self.refresh()
                left = deadline - time.monotonic()
                if event_id in self._seen or left <= 0:
                    break
                self._seen_event.wait(min(left, 0.05))
        return event_id in self._seen

    def is_revoked(self, claims):
        """True if an event matches the token's claims."""
        self.refresh()
        issued = _parse(claims["issued_at"])
        user, project = claims["user_id"], claims.get("project_id")
        checks = ((self.by_audit, claims.get("audit_id")),
                  (self.by_user, user),
                  (self.by_project, project),
                  (self.by_user_project, (user, project)),
                  (self.by_app_cred, claims.get("app_cred_id")))
        for index, key in checks:
            before = index.get(key) if key is not None else None
            if before is not None and issued <= before:
                return True
        return False


_lock = threading.Lock()
_list = None
_list_pid = None


def current():
    """This process's RevocationList, started on first use (a forked
    gunicorn worker starts its own)."""
    global _list, _list_pid
    with _lock:
        if _list is None or _list_pid != os.getpid():
            _list = RevocationList().start()
            _list_pid = os.getpid()
        return _list


def reset():
    """Stop this process's list (tests that change [database] connection)."""
    global _list
    with _lock:
        if _list is not None:
            _list.stop()
        _list = None
