"""The dead-letter queues, for operators: see what was parked and why, send it
back, or throw it away (``nova-lite-manage dlq list|show|replay|purge``).

Every work queue ``<topic>`` has ``<topic>.dlq``. A message lands there when it
can never be handled (malformed, unknown method or version) or its handler
kept failing; the header ``x-nova-lite-dead-letter-reason`` says which. Replay
publishes each message back to its topic with a broker confirm before it is
removed from the dead-letter queue, so nothing is lost if replay is cut short."""
import json

from nova_lite.rpc import publisher as publisher_mod
from nova_lite.rpc import server, topology, transport

REASON_HEADERS = (server.REASON_HEADER, "x-first-death-reason")


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
                headers = {k: v for k, v in (message.headers or {}).items()
                           if not k.startswith("x-death") and k not in REASON_HEADERS
                           and not k.startswith("x-first-death")}
                try:
                    publisher.publish_raw(topic, message.body, headers=headers,
                                          message_id=message.properties.get("message_id"))
                except Exception:
                    message.requeue()
                    raise
                message.ack()
                replayed += 1
    finally:
        publisher.close()
    return replayed


def purge(topic):
    """Drop every parked message of ``topic``; return how many there were."""
    with transport.connect() as conn:
        channel = conn.channel()
        topology.declare(channel, topic)
        return topology.dead_letter_queue(topic)(channel).purge() or 0
