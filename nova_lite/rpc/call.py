"""Synchronous calls, for the rare request that needs an answer (console output).

    caller thread ──request──> CallClient I/O thread ──publish (reply_to =
                                      │                 amq.rabbitmq.reply-to,
                                      │                 correlation_id)──> topic queue
                                      │<── reply, matched by correlation_id ── worker
    caller thread <── result / RemoteError / CallTimeout

Replies use RabbitMQ's Direct Reply-To: no reply queue is ever declared, so a
thousand calls leave the broker's queue list exactly as it was. It is
at-most-once (a reply to a caller that has gone is dropped), so callers get a
clear timeout and the handlers they call are read-only or idempotent.

One CallClient per process; its single I/O thread owns the connection (kombu
connections are not thread safe), publishing requests from a local queue and
draining replies."""
import concurrent.futures
import json
import logging
import queue
import threading
import time
import uuid

from kombu import Consumer, Producer, Queue

from nova_lite.conf import CONF
from nova_lite.rpc import envelope as envelope_mod
from nova_lite.rpc import topology, transport

LOG = logging.getLogger(__name__)
REPLY_TO = "amq.rabbitmq.reply-to"


class CallTimeout(Exception):
    """No reply within the timeout (the worker is down, slow, or the reply was lost)."""


class RemoteError(Exception):
    """The handler raised; carries its exception type and message."""

    def __init__(self, exc_type, message):
        self.exc_type = exc_type
        super().__init__(f"{exc_type}: {message}")


def reply_body(result=None, error=None):
    return json.dumps({"result": result, "error": error}).encode()


class CallClient:
    def __init__(self):
        self._requests = queue.Queue()
        self._pending = {}
        self._lock = threading.Lock()
        self._thread = None
        self._stop = threading.Event()

    def call(self, topic, method, args=None, context=None, timeout=None):
        timeout = CONF.rpc.call_timeout if timeout is None else timeout
        self._ensure_thread()
        correlation_id = uuid.uuid4().hex
        future = concurrent.futures.Future()
        with self._lock:
            self._pending[correlation_id] = future
        self._requests.put((topic, envelope_mod.build(method, args, context), correlation_id))
        try:
            reply = future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            raise CallTimeout(f"no reply to {method} from {topic} within {timeout}s") from None
        finally:
            with self._lock:
                self._pending.pop(correlation_id, None)
        if reply.get("error"):
            raise RemoteError(reply["error"].get("type", "Error"),
                              reply["error"].get("message", ""))
        return reply.get("result")

    def close(self):
        self._stop.set()

    def _ensure_thread(self):
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="rpc-call-io",
                                                daemon=True)
                self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                with transport.connect() as conn:
                    conn.ensure_connection(max_retries=3)
                    channel = conn.channel()
                    producer = Producer(channel)
                    declared = set()
                    reply_queue = Queue(REPLY_TO, no_ack=True)
                    with Consumer(channel, queues=[reply_queue], no_ack=True,
                                  on_message=self._on_reply):
                        self._serve(conn, producer, declared)
            except Exception as exc:  # noqa: BLE001 - reconnect; callers time out
                LOG.warning("rpc call connection failed (%r); reconnecting", exc)
                self._stop.wait(1.0)

    def _serve(self, conn, producer, declared):
        beat_every = max(1.0, CONF.rpc.heartbeat / 3.0) if CONF.rpc.heartbeat else None
        next_beat = time.monotonic()
        while not self._stop.is_set():
            # With no call waiting, sleep on the request queue; otherwise publish
            # whatever is queued and poll the socket briefly for replies.
            waiting = bool(self._pending)
            try:
                request = self._requests.get(timeout=0.05) if not waiting \
                    else self._requests.get_nowait()
            except queue.Empty:
                request = None
            while request is not None:
                self._publish(producer, declared, *request)
                try:
                    request = self._requests.get_nowait()
                except queue.Empty:
                    request = None
            if self._pending:
                try:
                    conn.drain_events(timeout=0.005)
                except TimeoutError:
                    pass
            if beat_every and time.monotonic() >= next_beat:
                conn.heartbeat_check()
                next_beat = time.monotonic() + beat_every

    def _publish(self, producer, declared, topic, env, correlation_id):
        if topic not in declared:
            topology.declare(producer.channel, topic)
            declared.add(topic)
        producer.publish(envelope_mod.encode(env), exchange=topology.exchange(),
                         routing_key=topic, reply_to=REPLY_TO, correlation_id=correlation_id,
                         content_type="application/json", content_encoding="utf-8",
                         delivery_mode=1)

    def _on_reply(self, message):
        correlation_id = message.properties.get("correlation_id")
        with self._lock:
            future = self._pending.get(correlation_id)
        if future is None or future.done():
            return          # the caller gave up: at-most-once, dropped
        try:
            future.set_result(json.loads(message.body))
        except ValueError as exc:
            future.set_exception(RemoteError("BadReply", str(exc)))


_client = None
_client_lock = threading.Lock()


def get_client():
    global _client
    with _client_lock:
        if _client is None:
            _client = CallClient()
        return _client


def call(topic, method, args=None, context=None, timeout=None):
    """Call ``method`` on whichever worker consumes ``topic`` and return its result."""
    return get_client().call(topic, method, args, context, timeout)
