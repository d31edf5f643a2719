"""Publishing with broker confirms, ``mandatory`` and failover.

One Publisher per process, shared by its threads (a lock serialises use of the
one channel). ``publish`` returns only once the broker has confirmed the
message, so a caller that acks its own input afterwards never loses work. A
message the broker cannot route (no queue bound) raises instead of vanishing."""
import logging
import threading
import time

from kombu import Producer
from kombu.exceptions import OperationalError

from nova_lite.conf import CONF
from nova_lite.rpc import envelope as envelope_mod
from nova_lite.rpc import topology, transport

LOG = logging.getLogger(__name__)


class PublishError(Exception):
    """The broker did not confirm the message within [rpc] publish_timeout."""


class Unroutable(PublishError):
    """The broker returned the message: nothing is bound to its routing key."""


class Publisher:
    def __init__(self):
        self._lock = threading.Lock()
        self._conn = None
        self._producer = None
        self._declared = set()
        self._returned = []
        self._heartbeat_thread = None
        self._closed = False

    # -- connection -------------------------------------------------------
    def _connect(self):
        self._conn = transport.connect()
        self._conn.ensure_connection(max_retries=1)
        self._producer = Producer(self._conn.channel(), exchange=topology.exchange(),
                                  on_return=self._on_return)
        self._declared.clear()
        LOG.info("publisher connected to %s", self._conn.as_uri())
        if self._heartbeat_thread is None and CONF.rpc.heartbeat:
            self._heartbeat_thread = threading.Thread(target=self._heartbeats,
                                                      name="rpc-publisher-heartbeat",
                                                      daemon=True)
            self._heartbeat_thread.start()

    def _reset(self):
        conn, self._conn, self._producer = self._conn, None, None
        if conn is not None:
            try:
                conn.release()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass

    def _heartbeats(self):
        interval = max(1.0, CONF.rpc.heartbeat / 3.0)
        while not self._closed:
            time.sleep(interval)
            with self._lock:
                if self._conn is None:
                    continue
                try:
                    self._conn.heartbeat_check()
                except Exception as exc:  # noqa: BLE001 - reconnect on next publish
                    LOG.warning("publisher heartbeat failed (%s); reconnecting lazily", exc)
                    self._reset()

    def _on_return(self, exception, exchange, routing_key, message):
        self._returned.append(routing_key)

    def close(self):
        self._closed = True
        with self._lock:
            self._reset()

    # -- publishing -------------------------------------------------------
    def publish_envelope(self, topic, envelope, headers=None):
        self.publish_raw(topic, envelope_mod.encode(envelope), headers=headers,
                         message_id=envelope.get("message_id"))

    def publish_raw(self, topic, body, headers=None, message_id=None,
                    exchange=None, declare=True):
        """Publish ``body`` to ``topic`` and wait for the broker's confirm.

        Retries with backoff across brokers until [rpc] publish_timeout; raises
        PublishError if it never gets a confirm."""
        deadline = time.monotonic() + CONF.rpc.publish_timeout
        delay = 0.1
        last_error = None
        with self._lock:
            while True:
                try:
                    if self._conn is None:
                        self._connect()
                    if declare and topic not in self._declared:
                        topology.declare(self._producer.channel, topic)
                        self._declared.add(topic)
                    self._returned.clear()
                    self._producer.publish(
                        body, routing_key=topic, exchange=exchange or topology.exchange(),
                        mandatory=True, delivery_mode=2, headers=headers or {},
                        content_type="application/json", content_encoding="utf-8",
                        message_id=message_id, retry=False)
                    if self._returned:
                        raise Unroutable(f"no queue is bound to routing key {topic!r}")
                    return
                except Unroutable:
                    raise
                except (OperationalError, OSError, *self._errors()) as exc:
                    last_error = exc
                    LOG.warning("publish to %s failed: %s", topic, exc)
                    self._reset()
                if time.monotonic() + delay > deadline:
                    raise PublishError(f"broker did not confirm a message to {topic!r} "
                                       f"within {CONF.rpc.publish_timeout}s: {last_error}")
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _errors(self):
        conn = self._conn or transport.connect()
        return tuple(set(conn.connection_errors) | set(conn.channel_errors)
                     | set(conn.recoverable_connection_errors)
                     | set(conn.recoverable_channel_errors))


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


def cast(topic, method, args=None, context=None):
    """Send ``method(args)`` to whichever worker consumes ``topic``; no reply."""
    get_publisher().publish_envelope(topic, envelope_mod.build(method, args, context))
