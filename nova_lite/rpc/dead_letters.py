"""The dead-letter queues, for operators: see what was parked and why, send it
back, or throw it away (``nova-lite-manage dlq list|show|replay|purge``).

Every work queue ``<topic>`` has ``<topic>.dlq``. A message lands there when it
can never be handled (malformed, unknown method or version) or its handler
kept failing; the header ``x-nova-lite-dead-letter-reason`` says which. Replay
publishes each message back to its topic with a broker confirm before it is
removed from the dead-letter queue, so nothing is lost if replay is cut short.

Some methods never wait for an operator (``casts.ON_DEAD_LETTER``): the RPC
server drops a superseded report instead of parking it, and the conductor's
``sweep`` sends a parked ``network_changed`` back to its queue (at most
REDRIVE_LIMIT times: one that keeps failing after that is a bug to look at)."""
import json
import logging

from nova_lite.rpc import casts, envelope
from nova_lite.rpc import publisher as publisher_mod
from nova_lite.rpc import server, topology, transport

LOG = logging.getLogger(__name__)

REASON_HEADERS = (server.REASON_HEADER, "x-first-death-reason")
REDRIVEN_HEADER = "x-nova-lite-redriven"
REDRIVE_LIMIT = 3
SWEEP_BATCH = 1000


def topic_of(queue_name):
    name = queue_name[:-len(topology.DLQ_SUFFIX)] if queue_name.endswith(
        topology.DLQ_SUFFIX) else queue_name
    return name


def counts(topics):
    """{dlq name: messages waiting} for the given topics (queues declared if missing)."""
    result = {}
    with transport.connect() as conn:
        channel = conn.channel()
        for topic in topics:
            topology.declare(channel, topic)
            declared = topology.dead_letter_queue(topic)(channel).queue_declare(passive=True)
            result[topic + topology.DLQ_SUFFIX] = declared.message_count
    return result


def _describe(message):
    headers = message.headers or {}
    body = message.body
    text = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else body
    try:
        method = json.loads(text).get("method")
    except (ValueError, AttributeError):
        method = None
    reason = next((headers[h] for h in REASON_HEADERS if headers.get(h)), None)
    deaths = headers.get("x-death") or []
    if reason is None and deaths:
        reason = deaths[0].get("reason")
    return {"message_id": message.properties.get("message_id"), "method": method,
            "reason": reason, "failed_at": headers.get("x-nova-lite-failed-at"),
            "body": text}


def show(topic, limit=20):
    """Up to ``limit`` parked messages, left in place (they are returned to the queue)."""
    found = []
    with transport.connect() as conn:
        channel = conn.channel()
        topology.declare(channel, topic)
        queue = topology.dead_letter_queue(topic)(channel)
        held = []
        try:
            for _ in range(limit):
                message = queue.get(no_ack=False)
                if message is None:
                    break
                held.append(message)
                found.append(_describe(message))
        finally:
            for message in held:
                message.requeue()
    return found


def replay(topic, limit=None):
    """Send parked messages back to ``topic``; return how many were replayed."""
    publisher = publisher_mod.Publisher()
    replayed = 0
    try:
        with transport.connect() as conn:
            channel = conn.channel()
            topology.declare(channel, topic)
            queue = topology.dead_letter_queue(topic)(channel)
            while limit is None or replayed < limit:
                message = queue.get(no_ack=False)
                if message is None:
                    break
                try:
                    _send_back(publisher, topic, message, _replay_headers(message))
                except Exception:
                    message.requeue()
                    raise
                replayed += 1
    finally:
        publisher.close()
    return replayed


def _replay_headers(message):
    """The headers of a parked message less those of its parking."""
    return {k: v for k, v in (message.headers or {}).items()
            if not k.startswith("x-death") and k not in REASON_HEADERS
            and not k.startswith("x-first-death")}


def _send_back(publisher, topic, message, headers):
    """Publish a parked message to ``topic``, confirmed, then remove it."""
    publisher.publish_raw(topic, message.body, headers=headers,
                          message_id=message.properties.get("message_id"))
    message.ack()


def sweep(topics):
    """One pass of the conductor over the dead-letter queues of ``topics``:
    what ``casts.ON_DEAD_LETTER`` says must not wait for an operator is sent
    back (REDRIVE, up to REDRIVE_LIMIT times) or dropped (DROP: parked before
    the server dropped such reports itself); the rest stays parked. Returns
    {"redriven": n, "dropped": n}."""
    done = {"redriven": 0, "dropped": 0}
    publisher = publisher_mod.get_publisher()
    with transport.connect() as conn:
        channel = conn.channel()
        for topic in topics:
            topology.declare(channel, topic)
            queue = topology.dead_letter_queue(topic)(channel)
            held = []
            try:
                for _ in range(SWEEP_BATCH):
                    message = queue.get(no_ack=False)
                    if message is None:
                        break
                    if not _sweep_one(publisher, topic, message, done):
                        held.append(message)
            finally:
                for message in held:
                    message.requeue()
    return done


def _sweep_one(publisher, topic, message, done):
    """Redrive or drop one parked message; False if it stays parked."""
    method = envelope.method_of(message.body)
    action = casts.ON_DEAD_LETTER.get(method)
    headers = message.headers or {}
    if action == casts.DROP:
        LOG.warning("dropping a parked %s from %s.dlq: the host's next report "
                    "supersedes it", method, topic)
        message.ack()
        done["dropped"] += 1
        return True
    redriven = int(headers.get(REDRIVEN_HEADER) or 0)
    if action != casts.REDRIVE or redriven >= REDRIVE_LIMIT:
        return False
    LOG.warning("sending a parked %s back to %s (redrive %d of %d; it failed with: %s)",
                method, topic, redriven + 1, REDRIVE_LIMIT,
                headers.get(server.REASON_HEADER))
    _send_back(publisher, topic, message,
               {**_replay_headers(message), REDRIVEN_HEADER: redriven + 1})
    done["redriven"] += 1
    return True


def purge(topic):
    """Drop every parked message of ``topic``; return how many there were."""
    with transport.connect() as conn:
        channel = conn.channel()
        topology.declare(channel, topic)
        return topology.dead_letter_queue(topic)(channel).purge() or 0
