"""Consuming many topics in one process: the worker side for simulated hosts.

    broker ──compute.sim-00000 ... compute.sim-09999 (one consumer each, prefetch P)
        │        one connection, one channel, one consumer thread
        v
    consumer thread ──route by consumer tag──> endpoints of that topic's host
        │                                       │
        │   delay(topic, method) > 0 ──> timer heap ──(when due)──┐
        └────────────────────────────────────────────────────────┴──> handler pool
                                                                        │
    ack / requeue / <topic>.dlq  <───────── settled by the consumer thread ─┘

It is :class:`nova_lite.rpc.server.RPCServer` (same settling: ack after the
handler's casts are confirmed, poison to ``<topic>.dlq``, transient failures
retried in place, others requeued up to the delivery limit) with three differences: every topic of ``routes`` is consumed
on the one channel, each with its own prefetch (RabbitMQ's per-consumer
``basic.qos``), so a host's concurrency is its own; a message is routed to
the endpoints of the topic it came from; and a handler may be started after
a simulated delay without holding a thread while it waits (the message stays
unacknowledged meanwhile, as it would on a real host that is busy).

Queues are declared pipelined (``nowait``) so ten thousand hosts declare in
seconds, not minutes."""
import contextlib
import heapq
import logging
import threading
import time

from kombu import Consumer

from nova_lite.conf import CONF
from nova_lite.rpc import envelope as envelope_mod
from nova_lite.rpc import server as server_mod
from nova_lite.rpc import topology, transport

LOG = logging.getLogger(__name__)


class _Timers:
    """One thread that calls ``fn(*args)`` once each entry falls due."""

    def __init__(self, name):
        self._heap = []
        self._cond = threading.Condition()
        self._seq = 0
        self._stop = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def __len__(self):
        return len(self._heap)

    def schedule(self, delay, fn, *args):
        with self._cond:
            self._seq += 1
            heapq.heappush(self._heap, (time.monotonic() + delay, self._seq, fn, args))
            if self._heap[0][1] == self._seq:
                self._cond.notify()

    def stop(self):
        with self._cond:
            self._stop = True
            self._cond.notify()

    def _run(self):
        while True:
            with self._cond:
                while not self._stop:
                    if self._heap and self._heap[0][0] <= time.monotonic():
                        break
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                if self._stop:
                    return
                due = []
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    due.append(heapq.heappop(self._heap))
            for _, _, fn, args in due:
                try:
                    fn(*args)
                except Exception:  # noqa: BLE001 - the timer thread must survive
                    LOG.exception("delayed call failed")


class MultiTopicServer(server_mod.RPCServer):
    """Consume every topic of ``routes`` ({topic: {method: handler}}).

    ``delay(topic, method)`` (optional) gives the seconds to wait before the
    handler runs. Handlers of all topics share ``concurrency`` threads."""

    WINDOW = 250         # topics declared (or consumed) before one round trip

    def __init__(self, routes, concurrency=None, prefetch_per_topic=None, delay=None,
                 publisher=None):
        if not routes:
            raise ValueError("MultiTopicServer needs at least one topic")
        self.routes = {topic: dict(endpoints) for topic, endpoints in routes.items()}
        first = next(iter(self.routes))
        # Every topic serves the same methods (one manager class), so the
        # signatures checked before dispatch are those of the first.
        super().__init__(first, self.routes[first], concurrency=concurrency,
                         publisher=publisher)
        self.prefetch_per_topic = prefetch_per_topic or CONF.rpc.prefetch_count
        self.delay = delay
        self._timers = _Timers("rpc-delays")
        self._tag_topics = {}
        self.declare_seconds = None

    @property
    def delayed(self):
        """Messages waiting for their simulated time."""
        return len(self._timers)

    # -- connection ------------------------------------------------------------------
    def declare_all(self, conn, channel):
        """Declare every topic's queues pipelined, in windows of WINDOW topics
        each closed by one synchronous round trip: a bounded amount in flight
        (RabbitMQ's flow control stops reading a flooded connection, and then
        sees no heartbeat from it), and heartbeats between windows."""
        started = time.monotonic()
        for ex in (topology.exchange(), topology.dead_letter_exchange()):
            ex.declare(channel=channel)
        topics = list(self.routes)
        for i in range(0, len(topics), self.WINDOW):
            window = topics[i:i + self.WINDOW]
            for topic in window:
                for queue in (topology.dead_letter_queue(topic), topology.work_queue(topic)):
                    queue(channel).declare(nowait=True)
            # Every nowait declare before it has been processed once this
            # returns (an error in any of them would have closed the channel).
            topology.work_queue(window[-1])(channel).queue_declare(passive=True)
            conn.heartbeat_check()
        self.declare_seconds = time.monotonic() - started
        LOG.info("declared %d topics in %.1fs", len(self.routes), self.declare_seconds)

    def run(self):
        delay = 0.5
        while not self._stop.is_set():
            conn = transport.connect()
            try:
                conn.ensure_connection(max_retries=1)
                channel = conn.channel()
                self._generation += 1
                self.declare_all(conn, channel)
                topics = list(self.routes)
                with contextlib.ExitStack() as consumers:
                    # One kombu Consumer per window of queues (each consume is
                    # pipelined up to its last queue), heartbeats in between.
                    self._tag_topics = {}
                    active = []
                    for i in range(0, len(topics), self.WINDOW):
                        consumer = consumers.enter_context(Consumer(
                            channel, queues=[topology.work_queue(t)
                                             for t in topics[i:i + self.WINDOW]],
                            on_message=self._on_message, no_ack=False, auto_declare=False,
                            prefetch_count=self.prefetch_per_topic))
                        self._tag_topics.update({tag: name for name, tag
                                                 in consumer._active_tags.items()})
                        active.append(consumer)
                        conn.heartbeat_check()
                    LOG.info("consuming %d topics on %s", len(self.routes), conn.as_uri())
                    delay = 0.5
                    self._loop(conn, lambda: [c.cancel() for c in active])
            except Exception as exc:  # noqa: BLE001 - any broker failure: reconnect
                if self._stop.is_set():
                    break
                LOG.warning("consumer of %d topics lost its connection (%s); retrying in "
                            "%.1fs", len(self.routes), exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 10.0)
            finally:
                try:
                    conn.release()
                except Exception:  # noqa: BLE001
                    pass
        self._drain_inflight()

    # -- delivery ------------------------------------------------------------------------
    def _topic_of(self, message):
        tag = message.delivery_info.get("consumer_tag")
        return self._tag_topics.get(tag) or message.delivery_info.get("routing_key")

    def _handle(self, generation, message):
        topic = self._topic_of(message)
        try:
            env = envelope_mod.decode(message.body)
            endpoints = self.routes.get(topic)
            if endpoints is None:
                raise envelope_mod.PoisonMessage(f"no endpoints consume {topic!r}")
            handler = endpoints.get(env["method"])
            if handler is None:
                raise envelope_mod.PoisonMessage(
                    f"unknown method {env['method']!r} for topic {topic!r}")
            try:
                self._signatures[env["method"]].bind(env["context"], **env["args"])
            except (TypeError, KeyError) as exc:
                raise envelope_mod.PoisonMessage(
                    f"bad arguments for {env['method']}: {exc}") from None
        except envelope_mod.PoisonMessage as exc:
            LOG.error("poison message on %s: %s", topic, exc)
            self._done.put((generation, message, "dead-letter", str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - the worker must keep consuming
            self._done.put((generation, message, *server_mod.failure(topic, exc)))
            return
        wait = self.delay(topic, env["method"]) if self.delay else 0
        if wait > 0:
            self._timers.schedule(wait, self._pool.submit, self._invoke, generation,
                                  message, topic, handler, env)
        else:
            self._invoke(generation, message, topic, handler, env)

    def _invoke(self, generation, message, topic, handler, env):
        try:
            outcome, detail = server_mod.invoke(handler, env, message, self._reply)
            self._done.put((generation, message, outcome, detail))
        except Exception as exc:  # noqa: BLE001 - the worker must keep consuming
            self._done.put((generation, message, *server_mod.failure(topic, exc)))
