"""Consuming one topic: the worker side of the bus.

    broker ──deliver (prefetch N)──> consumer thread ──submit──> handler pool (N threads)
      ^                                │      ^                          │
      └────── ack / requeue / dlq ─────┤      └──────── outcome ─────────┘
                                       │ transient failure: waits in the retry
                                       └─> heap (0.5, 1, 2 ... s), then submitted again

The consumer thread owns the connection (kombu connections are not thread
safe): it drains deliveries, hands each to a pool thread, and settles each
message once its handler has returned (see rpc/retry.py for the three kinds
of failure):

- handler returned          -> ack (its effect is already committed), once
                               every cast it made is confirmed
- PoisonMessage             -> publish to ``<queue>.dlq`` with the reason, then ack
- transient failure         -> retried in place: the message stays unacked and
  (database or broker away)    the handler runs again after 0.5, 1, 2, 4, 8, 8 ...
                               seconds, for up to ``[rpc] retry_window``; then
                               requeued as below
- any other exception       -> requeue; on the last allowed delivery
                               (``[rpc] delivery_limit``), dead-letter with the reason
- dead-lettering a report that the next periodic report supersedes
  (``casts.ON_DEAD_LETTER``) -> dropped with a log line instead of parked
  (a parked ``network_changed`` is sent back by the conductor: dead_letters.sweep)

Retrying in place keeps the delay out of the broker (no retry queues or
delayed exchanges beside the fixed topology) and out of the threads: the
waiting deliveries sit in a heap the consumer thread looks at between
drains, so no pool thread sleeps, heartbeats keep flowing, and ``stop()``
hands every waiting delivery back to the queue at once. A waiting delivery
holds its prefetch slot; that is the point: while PostgreSQL is away every
handler fails alike, so the worker stops taking work it cannot do and the
broker keeps the rest (or gives it to another worker). The slot is freed at
the latest after ``retry_window``.

Lost connections are re-established with backoff (other brokers of the
cluster included), the topology re-declared and consuming resumed.
"""
import concurrent.futures
import heapq
import inspect
import logging
import queue
import threading
import time
import traceback

from kombu import Consumer, Exchange

from nova_lite.conf import CONF
from nova_lite.rpc import call as call_mod
from nova_lite.rpc import envelope as envelope_mod
from nova_lite.rpc import publisher as publisher_mod
from nova_lite.rpc import casts, retry, topology, transport

LOG = logging.getLogger(__name__)

REASON_HEADER = "x-nova-lite-dead-letter-reason"
DEFAULT_EXCHANGE = Exchange("")


class RPCServer:
    """Consume ``topic`` and dispatch each message to ``endpoints[method]``.

    A handler is called as ``handler(context, **args)``; it must be idempotent
    (a message may be delivered more than once)."""

    def __init__(self, topic, endpoints, concurrency=None, publisher=None):
        self.topic = topic
        self.endpoints = dict(endpoints)
        self._signatures = {name: inspect.signature(fn) for name, fn in self.endpoints.items()}
        self.concurrency = concurrency or CONF.rpc.prefetch_count
        self.publisher = publisher or publisher_mod.get_publisher()
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.concurrency, thread_name_prefix=f"rpc-{topic}")
        self._done = queue.Queue()
        self._inflight = 0
        self._generation = 0       # bumps on every new channel
        self._waiting = []         # handled, awaiting confirms of the casts they made
        self._delayed = []         # heap of (due, seq, generation, message): retries
        self._backoffs = {}        # (generation, delivery tag) -> retry.Backoff
        self._seq = 0
        self._stop = threading.Event()
        self.handled = 0
        self.dead_lettered = 0
        self.retried = 0           # transient failures retried in place
        self.dropped = 0           # superseded reports dropped instead of parked

    def stop(self):
        self._stop.set()

    # -- main loop -----------------------------------------------------------
    def run(self):
        delay = 0.5
        while not self._stop.is_set():
            conn = transport.connect()
            try:
                conn.ensure_connection(max_retries=1)
                channel = conn.channel()
                self._generation += 1
                topology.declare(channel, self.topic)
                consumer = Consumer(channel, queues=[topology.work_queue(self.topic)],
                                    on_message=self._on_message, no_ack=False,
                                    prefetch_count=self.concurrency)
                with consumer:
                    LOG.info("consuming %s on %s", self.topic, conn.as_uri())
                    delay = 0.5
                    self._loop(conn, consumer.cancel)
            except Exception as exc:  # noqa: BLE001 - any broker failure: reconnect
                if self._stop.is_set():
                    break
                LOG.warning("consumer of %s lost its connection (%s); retrying in %.1fs",
                            self.topic, exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 10.0)
            finally:
                try:
                    conn.release()
                except Exception:  # noqa: BLE001
                    pass
        self._drain_inflight()

    def _loop(self, conn, cancel):
        """Drain, settle, re-run due retries and beat until stopped; then
        ``cancel`` consuming (so nothing given back comes back to us) and
        settle what we hold."""
        interval = max(1.0, CONF.rpc.heartbeat / 3.0) if CONF.rpc.heartbeat else None
        next_beat = time.monotonic()
        while not self._stop.is_set():
            try:
                conn.drain_events(timeout=0.05)
            except TimeoutError:
                pass
            self._settle_finished()
            if self._waiting:
                self._settle_waiting()
            if self._delayed:
                self._rerun_due()
            if interval and time.monotonic() >= next_beat:
                conn.heartbeat_check()
                next_beat = time.monotonic() + interval
        # Graceful stop: waiting retries go back to the queue now; running
        # handlers finish and are settled.
        cancel()
        self._give_back_delayed()
        deadline = time.monotonic() + 30
        while self._inflight and time.monotonic() < deadline:
            self._settle_finished(block=0.1)
            self._settle_waiting()

    # -- delivery ------------------------------------------------------------
    def _on_message(self, message):
        self._inflight += 1
        self._pool.submit(self._handle, self._generation, message)

    def _handle(self, generation, message):
        try:
            env = envelope_mod.decode(message.body)
            handler = self.endpoints.get(env["method"])
            if handler is None:
                raise envelope_mod.PoisonMessage(
                    f"unknown method {env['method']!r} for topic {self.topic!r}")
            try:
                self._signatures[env["method"]].bind(env["context"], **env["args"])
            except TypeError as exc:
                raise envelope_mod.PoisonMessage(
                    f"bad arguments for {env['method']}: {exc}") from None
            outcome, detail = invoke(handler, env, message, self._reply)
            self._done.put((generation, message, outcome, detail))
        except envelope_mod.PoisonMessage as exc:
            LOG.error("poison message on %s: %s", self.topic, exc)
            self._done.put((generation, message, "dead-letter", str(exc)))
        except Exception as exc:  # noqa: BLE001 - the worker must keep consuming
            self._done.put((generation, message, *failure(self.topic, exc)))

    def _reply(self, message, result=None, error=None):
        """Answer a call (a message with reply_to); casts get no reply."""
        reply_to = message.properties.get("reply_to")
        if not reply_to:
            return
        try:
            self.publisher.publish_raw(reply_to, call_mod.reply_body(result, error),
                                       exchange=DEFAULT_EXCHANGE, declare=False,
                                       correlation_id=message.properties.get("correlation_id"))
        except publisher_mod.PublishError as exc:
            LOG.info("reply to %s dropped (caller gone?): %s", reply_to, exc)

    def _settle_finished(self, block=None):
        while True:
            try:
                generation, message, outcome, detail = (
                    self._done.get(timeout=block) if block else self._done.get_nowait())
            except queue.Empty:
                return
            block = None
            self._settle(generation, message, outcome, detail)

    def _settle_waiting(self):
        """Ack handled messages whose casts the broker has now confirmed."""
        still = []
        for generation, message, futures in self._waiting:
            if not all(f.done() for f in futures):
                still.append((generation, message, futures))
                continue
            failed = [f.exception() for f in futures if f.exception() is not None]
            if failed:
                # The broker failed over under the handler's casts: run it
                # again (it is idempotent) to send them again.
                self._settle(generation, message, "transient",
                             f"a follow-up message was not confirmed: {failed[0]}")
            else:
                self._settle(generation, message, "ack", None)
        self._waiting = still

    def _settle(self, generation, message, outcome, detail):
        """Settle one delivery; ``detail`` is the failure reason, or for
        "await-confirms" the confirm futures of the casts its handler made."""
        if outcome == "await-confirms":
            self._waiting.append((generation, message, detail))
            return
        if outcome == "transient" and self._retry_later(generation, message, detail):
            return
        reason = detail
        self._inflight -= 1
        self._backoffs.pop((generation, message.delivery_tag), None)
        if generation != self._generation:
            # Delivered on a channel that has since died: the broker has
            # already put it back for redelivery; there is nothing to settle.
            return
        if outcome == "ack":
            message.ack()
            self.handled += 1
        elif outcome == "dead-letter":
            self._dead_letter(message, reason)
        elif outcome == "transient" and self._stop.is_set():
            message.requeue()          # stopping: not the message's fault
        elif self._last_delivery(message):
            self._dead_letter(message, f"gave up after {CONF.rpc.delivery_limit} "
                                       f"deliveries: {reason}")
        else:
            message.requeue()

    # -- retries in place --------------------------------------------------------
    def _retry_later(self, generation, message, reason):
        """Schedule another run of a delivery that failed transiently; False
        once its retry window is spent (or we are stopping): settle it."""
        if self._stop.is_set() or generation != self._generation:
            return False
        backoff = self._backoffs.setdefault((generation, message.delivery_tag),
                                            retry.Backoff())
        delay = backoff.next_delay()
        if delay is None:
            LOG.warning("a message on %s still fails after %.0fs of retries (%s); "
                        "giving it back to the queue", self._topic_of(message),
                        CONF.rpc.retry_window, reason)
            return False
        LOG.info("retry %d of a message on %s in %.1fs (%s)", backoff.tries,
                 self._topic_of(message), delay, reason)
        self._seq += 1
        heapq.heappush(self._delayed, (time.monotonic() + delay, self._seq, generation,
                                       message))
        self.retried += 1
        return True

    def _rerun_due(self):
        """Hand each retry that is due to the pool (deliveries of a dead
        channel are dropped: the broker redelivers them)."""
        now = time.monotonic()
        while self._delayed and self._delayed[0][0] <= now:
            _, _, generation, message = heapq.heappop(self._delayed)
            if generation != self._generation:
                self._inflight -= 1
                self._backoffs.pop((generation, message.delivery_tag), None)
                continue
            self._pool.submit(self._handle, generation, message)

    def _give_back_delayed(self):
        """Stopping: requeue every delivery waiting for a retry, without
        counting it against the message (another worker takes it now)."""
        while self._delayed:
            _, _, generation, message = heapq.heappop(self._delayed)
            self._inflight -= 1
            self._backoffs.pop((generation, message.delivery_tag), None)
            if generation == self._generation:
                message.requeue()

    # -- giving up -------------------------------------------------------------------
    def _topic_of(self, message):
        return self.topic

    def _last_delivery(self, message):
        headers = message.headers or {}
        count = headers.get("x-delivery-count") or 0
        if topology.queue_type(self._topic_of(message)) != "quorum":
            # Classic queues do not count deliveries: give up on the first
            # redelivered failure.
            return bool(message.delivery_info.get("redelivered"))
        return int(count) + 1 >= CONF.rpc.delivery_limit

    def _dead_letter(self, message, reason):
        """Park the message in ``<queue>.dlq`` with the reason, or drop it if
        it is a report the next periodic one supersedes."""
        topic = self._topic_of(message)
        method = envelope_mod.method_of(message.body)
        if casts.ON_DEAD_LETTER.get(method) == casts.DROP:
            LOG.warning("dropping %s from %s instead of parking it (the host's next "
                        "report supersedes it): %s", method, topic, reason)
            message.ack()
            self.dropped += 1
            return
        headers = dict(message.headers or {})
        headers[REASON_HEADER] = reason[:1000]
        headers["x-nova-lite-failed-at"] = time.time()
        try:
            self.publisher.publish_raw(topic, message.body, headers=headers,
                                       exchange=topology.dead_letter_exchange(),
                                       declare=False)
        except publisher_mod.PublishError as exc:
            LOG.error("could not park a message in %s.dlq (%s); requeueing", topic, exc)
            message.requeue()
            return
        message.ack()
        self.dead_lettered += 1

    def _drain_inflight(self):
        self._pool.shutdown(wait=True)


def failure(topic, exc):
    """How to settle a delivery whose handler raised ``exc`` (not poison):
    ("transient", reason), retried in place, or ("requeue", reason)."""
    reason = f"{type(exc).__name__}: {exc}"
    if retry.is_transient(exc):
        LOG.warning("handler on %s failed transiently: %s", topic, reason)
        return "transient", reason
    LOG.warning("handler failed on %s: %s\n%s", topic, reason, traceback.format_exc())
    return "requeue", reason


def invoke(handler, env, message, reply):
    """Run the handler of a decoded, checked message; return how to settle it:
    ("ack", None) or ("await-confirms", futures of the casts it made). A
    call's failure goes back to its caller (retrying is the caller's choice)
    and the message is acked; a cast's failure raises (see ``failure``)."""
    try:
        with publisher_mod.deferred_confirms() as casts_made:
            result = handler(env["context"], **env["args"])
    except Exception as exc:
        if message.properties.get("reply_to"):
            reply(message, error={"type": type(exc).__name__, "message": str(exc)})
            return "ack", None
        raise
    reply(message, result=result)
    if casts_made.futures:
        return "await-confirms", casts_made.futures
    return "ack", None
