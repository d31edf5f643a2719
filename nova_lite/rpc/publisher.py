"""Publishing with broker confirms, ``mandatory`` and failover, many in flight.

    caller threads ──submit──> request queue ──> publisher I/O thread ──basic.publish──> broker
          ^                                          │  (up to [rpc] publish_window
          └──── future: done when the broker acks ───┘   unconfirmed at once)

Confirming messages one by one caps a broker cluster at a few hundred
messages a second; here one I/O thread owns the connection, keeps a window of
publishes in flight and settles each caller's future when the broker confirms
it (``basic.ack``, possibly for many at once). So a caller that waits on its
future and only then acks its own input never loses work, while many callers
together keep the pipe full.

- nacked, or in flight when the connection dies: published again (after
  reconnecting, possibly to another broker of the cluster) until the request's
  deadline ([rpc] publish_timeout) -> at-least-once; handlers are idempotent.
- returned by the broker (``mandatory``, nothing bound): Unroutable.
- no confirm before the deadline: PublishError.
"""
import collections
import concurrent.futures
import logging
import os
import threading
import time

import amqp

from nova_lite.conf import CONF
from nova_lite.rpc import envelope as envelope_mod
from nova_lite.rpc import topology, transport

LOG = logging.getLogger(__name__)


class PublishError(Exception):
    """The broker did not confirm the message within [rpc] publish_timeout."""


class Unroutable(PublishError):
    """The broker returned the message: nothing is bound to its routing key."""


_CALLBACK_LOCK = threading.Lock()


class _Request:
    """One message to publish; also the caller's handle on its confirm (the
    subset of concurrent.futures.Future that callers use). No lock is made per
    message: a caller that must wait creates an Event, which the I/O thread
    sets when it settles the request."""
    __slots__ = ("topic", "body", "headers", "exchange", "declare", "correlation_id",
                 "message_id", "deadline", "attempts", "not_before", "_waiter",
                 "_error", "_done", "_callbacks")

    def __init__(self, topic, body, headers, exchange, declare, correlation_id,
                 message_id):
        self.topic, self.body, self.headers = topic, body, headers or {}
        # An exchange name ("" is the default exchange); None means ours.
        self.exchange = getattr(exchange, "name", exchange)
        self.declare, self.correlation_id = declare, correlation_id
        self.message_id = message_id or os.urandom(16).hex()
        self.deadline = time.monotonic() + CONF.rpc.publish_timeout
        self.attempts = 0
        self.not_before = 0.0
        self._waiter = None
        self._error = None
        self._done = False
        self._callbacks = None

    # -- set by the I/O thread ---------------------------------------------------
    def set_result(self, _value=True):
        self._done = True                  # first done, then look for a waiter:
        waiter = self._waiter              # a caller registers its waiter first,
        if waiter is not None:             # then looks at done (see result)
            waiter.set()
        if self._callbacks is not None:
            with _CALLBACK_LOCK:
                callbacks, self._callbacks = self._callbacks, []
            for callback in callbacks:
                callback(self)

    def set_exception(self, error):
        self._error = error
        self.set_result()

    # -- read by callers ------------------------------------------------------
    @property
    def future(self):
        return self

    def done(self):
        return self._done

    def exception(self):
        return self._error

    def add_done_callback(self, callback):
        with _CALLBACK_LOCK:
            if not self._done:
                if self._callbacks is None:
                    self._callbacks = []
                self._callbacks.append(callback)
                return
        callback(self)

    def result(self, timeout=None):
        if not self._done:
            self._waiter = threading.Event()
            if not self._done and not self._waiter.wait(timeout):
                raise concurrent.futures.TimeoutError()
        if self._error is not None:
            raise self._error
        return True


class Publisher:
    def __init__(self, window=None):
        self.window = window or CONF.rpc.publish_window
        self._requests = collections.deque()      # appended by callers, popped by I/O
        self._wake = threading.Event()            # set when the I/O thread may sleep
        self._idle = False
        self._retry = collections.deque()
        self._stop = threading.Event()
        self._thread = None
        self._lock = threading.Lock()
        self.published = 0
        self.confirmed = 0
        self._nacked = False        # the broker refused a publish: use a new channel

    # -- the caller's side ------------------------------------------------------
    def submit(self, topic, body, headers=None, exchange=None, declare=True,
               correlation_id=None, message_id=None):
        """Queue a publish; the returned future completes when the broker confirms."""
        request = _Request(topic, body, headers, exchange, declare, correlation_id,
                           message_id)
        self._ensure_thread()
        self._requests.append(request)
        if self._idle:
            self._wake.set()
        return request

    def publish_raw(self, topic, body, **kwargs):
        """Publish and wait for the broker's confirm (PublishError if none comes)."""
        future = self.submit(topic, body, **kwargs)
        try:
            future.result(timeout=CONF.rpc.publish_timeout + 5)
        except concurrent.futures.TimeoutError:
            raise PublishError(f"no confirm for a message to {topic!r} within "
                               f"{CONF.rpc.publish_timeout}s") from None

    def publish_envelope(self, topic, envelope, headers=None):
        self.publish_raw(topic, envelope_mod.encode(envelope), headers=headers,
                         message_id=envelope.get("message_id"))

    def submit_envelope(self, topic, envelope):
        return self.submit(topic, envelope_mod.encode(envelope),
                           message_id=envelope.get("message_id"))

    def close(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _ensure_thread(self):
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="rpc-publisher",
                                                daemon=True)
                self._thread.start()

    # -- the I/O thread -------------------------------------------------------------
    def _run(self):
        delay = 0.1
        while not self._stop.is_set():
            inflight = collections.OrderedDict()
            conn = transport.connect(confirm_publish=False)
            try:
                conn.ensure_connection(max_retries=1)
                channel = conn.channel()
                channel.confirm_select()
                returned = set()
                channel.events["basic_ack"].add(
                    lambda tag, multiple: self._settle(inflight, tag, multiple, None,
                                                       returned))
                channel.events["basic_nack"].add(
                    lambda tag, multiple: self._settle(inflight, tag, multiple, "nack",
                                                       returned))
                channel.events["basic_return"].add(
                    lambda exc, exchange, key, message: returned.add(
                        message.properties.get("message_id")))
                LOG.info("publisher connected to %s", conn.as_uri())
                delay = 0.1
                self._serve(conn, channel, inflight)
            except Exception as exc:  # noqa: BLE001 - any broker failure: reconnect
                LOG.warning("publisher lost its connection (%s); %d unconfirmed will be "
                            "sent again", exc, len(inflight))
                for request in inflight.values():
                    self._retry.append(request)
                inflight.clear()       # late acks of the dead channel must not settle them
                self._fail_expired()
                self._stop.wait(delay)
                self._fail_expired()
                delay = min(delay * 2, 2.0)
            finally:
                try:
                    conn.release()
                except Exception:  # noqa: BLE001 - closing a broken connection
                    pass

    def _serve(self, conn, channel, inflight):
        declared = set()
        exchange_name = topology.exchange().name
        tag = 0
        beat_every = max(1.0, CONF.rpc.heartbeat / 3.0) if CONF.rpc.heartbeat else None
        next_beat = next_expiry_check = time.monotonic()
        while not self._stop.is_set():
            while len(inflight) < self.window:
                request = self._next(block=not inflight)
                if request is None:
                    break
                try:
                    if request.declare and request.topic not in declared:
                        # Exchanges once per channel; a host's queues pipelined
                        # (a fleet of 10,000 hosts is 20,000 queues to declare).
                        topology.declare(channel, request.topic,
                                         exchanges=not declared,
                                         nowait=request.topic.startswith("compute."))
                        declared.add(request.topic)
                    request.attempts += 1
                    properties = {"delivery_mode": 2, "content_type": "application/json",
                                  "content_encoding": "utf-8",
                                  "message_id": request.message_id}
                    if request.headers:
                        properties["application_headers"] = request.headers
                    if request.correlation_id:
                        properties["correlation_id"] = request.correlation_id
                    channel.basic_publish(amqp.Message(request.body, **properties),
                                          exchange=exchange_name if request.exchange is None
                                          else request.exchange,
                                          routing_key=request.topic, mandatory=True)
                except Exception:
                    self._retry.appendleft(request)       # not lost: sent again later
                    raise
                tag += 1
                inflight[tag] = request
                self.published += 1
            # Always read the socket: acks when publishing, heartbeats when idle.
            try:
                conn.drain_events(timeout=0.05 if inflight else 0.001)
            except TimeoutError:
                pass
            if inflight and time.monotonic() >= next_expiry_check:
                self._expire_inflight(inflight)
                next_expiry_check = time.monotonic() + 0.5
            if self._nacked:
                # RabbitMQ may keep refusing publishes on a channel opened while a
                # quorum queue had no leader; a new channel does not.
                self._nacked = False
                raise ConnectionError("the broker refused a publish; reconnecting")
            if beat_every and time.monotonic() >= next_beat:
                conn.heartbeat_check()
                next_beat = time.monotonic() + beat_every

    def _next(self, block):
        now = time.monotonic()
        if self._retry and self._retry[0].not_before <= now:
            request = self._retry.popleft()
        else:
            request = self._pop(block)
            if request is None:
                return None
        if request.deadline < now:
            request.set_exception(PublishError(
                f"broker did not confirm a message to {request.topic!r} within "
                f"{CONF.rpc.publish_timeout}s"))
            return None
        return request

    def _pop(self, block):
        try:
            return self._requests.popleft()
        except IndexError:
            if not block:
                return None
        self._idle = True
        try:
            if not self._requests:        # re-check: a submit may have raced the flag
                self._wake.wait(0.05)
            self._wake.clear()
        finally:
            self._idle = False
        try:
            return self._requests.popleft()
        except IndexError:
            return None

    def _settle(self, inflight, tag, multiple, failure, returned):
        tags = [t for t in inflight if t <= tag] if multiple else [tag]
        for t in tags:
            request = inflight.pop(t, None)
            if request is None or request.done():
                continue
            if failure == "nack":
                self._nacked = True
                request.not_before = time.monotonic() + min(0.05 * 2 ** request.attempts, 2)
                if request.deadline > time.monotonic():
                    self._retry.append(request)
                    continue
                request.set_exception(PublishError(
                    f"broker refused a message to {request.topic!r}"))
            elif request.message_id in returned:
                returned.discard(request.message_id)
                request.set_exception(Unroutable(
                    f"no queue is bound to routing key {request.topic!r}"))
            else:
                self.confirmed += 1
                request.set_result(True)

    def _expire_inflight(self, inflight):
        now = time.monotonic()
        expired = [t for t, r in inflight.items() if r.deadline < now]
        for t in expired:
            request = inflight.pop(t)
            request.set_exception(PublishError(
                f"broker did not confirm a message to {request.topic!r} within "
                f"{CONF.rpc.publish_timeout}s"))


    def _fail_expired(self):
        """While disconnected: fail every request past its deadline (its caller
        has been told), so nothing is published after its caller gave up and
        the backlog of an outage stays bounded by the deadline."""
        while True:
            try:
                self._retry.append(self._requests.popleft())
            except IndexError:
                break
        now = time.monotonic()
        kept = collections.deque()
        while self._retry:
            request = self._retry.popleft()
            if request.deadline < now:
                request.set_exception(PublishError(
                    f"broker unreachable: no confirm for a message to {request.topic!r} "
                    f"within {CONF.rpc.publish_timeout}s"))
            else:
                kept.append(request)
        self._retry.extend(kept)


_publisher = None
_publisher_lock = threading.Lock()


def get_publisher():
    """The process-wide Publisher (created on first use, after any fork)."""
    global _publisher
    with _publisher_lock:
        if _publisher is None:
            _publisher = Publisher()
        return _publisher


def reset_publisher():
    global _publisher
    with _publisher_lock:
        if _publisher is not None:
            _publisher.close()
        _publisher = None


_deferred = threading.local()


class deferred_confirms:
    """Within this block, casts on this thread return at once and their confirm
    futures are collected in ``futures``. The RPC server wraps each handler in
    one and acks the incoming message only when every future has succeeded."""

    def __init__(self):
        self.futures = []

    def __enter__(self):
        _deferred.futures = self.futures
        return self

    def __exit__(self, *exc):
        _deferred.futures = None


def cast(topic, method, args=None, context=None):
    """Send ``method(args)`` to whichever worker consumes ``topic``; no reply.

    Returns once the broker has confirmed it, or, inside ``deferred_confirms``
    (every RPC handler), at once with the confirm left to the server."""
    env = envelope_mod.build(method, args, context)
    pending = getattr(_deferred, "futures", None)
    if pending is not None:
        pending.append(get_publisher().submit_envelope(topic, env))
        return
    get_publisher().publish_envelope(topic, env)


def track(future):
    """Make ``future`` (a confirm someone else will settle, e.g. a share of a
    coalesced message) part of this thread's casts: inside
    ``deferred_confirms`` the RPC server waits for it before acking; outside,
    wait for it here."""
    pending = getattr(_deferred, "futures", None)
    if pending is not None:
        pending.append(future)
        return
    future.result(timeout=CONF.rpc.publish_timeout + 5)


def unconfirmed(futures):
    """Wait for each confirm future; return how many failed or timed out
    (for callers that send those again on their next round)."""
    failed = 0
    timeout = CONF.rpc.publish_timeout + 5
    for future in futures:
        try:
            future.result(timeout=timeout)
        except Exception:  # noqa: BLE001 - counted; the caller retries later
            failed += 1
    return failed
