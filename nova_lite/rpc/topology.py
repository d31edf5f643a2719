"""Exchanges and queues. Every name is fixed and derived from its topic:
``conductor``, ``conductor.reports``, ``scheduler``, ``compute.<host>``, each with a
dead-letter queue ``<queue>.dlq``. Declaring is idempotent, so every client
declares what it uses when it (re)connects."""
from kombu import Exchange, Queue

from nova_lite.conf import CONF

# Hosts' periodic reports (heartbeats, resources, power states) have a lane
# of their own, consumed by the conductor beside its work queue, so liveness
# never waits behind a backlog of builds and deletes.
REPORTS_TOPIC = "conductor.reports"
SHARED_TOPICS = ("conductor", REPORTS_TOPIC, "scheduler")
DLQ_SUFFIX = ".dlq"


def compute_topic(host):
    return f"compute.{host}"


def exchange():
    return Exchange(CONF.rpc.exchange, type="topic", durable=True)


def dead_letter_exchange():
    return Exchange(CONF.rpc.exchange + ".dlx", type="direct", durable=True)


def queue_type(topic):
    if topic.startswith("compute."):
        return CONF.rpc.compute_queue_type
    return CONF.rpc.shared_queue_type


def work_queue(topic):
    qtype = queue_type(topic)
    arguments = {
        "x-queue-type": qtype,
        "x-dead-letter-exchange": dead_letter_exchange().name,
        "x-dead-letter-routing-key": topic,
    }
    if qtype == "quorum":
        arguments["x-delivery-limit"] = CONF.rpc.delivery_limit
    return Queue(topic, exchange=exchange(), routing_key=topic, durable=True,
                 queue_arguments=arguments)


def dead_letter_queue(topic):
    return Queue(topic + DLQ_SUFFIX, exchange=dead_letter_exchange(), routing_key=topic,
                 durable=True, queue_arguments={"x-queue-type": queue_type(topic)})


def declare(channel, topic, exchanges=True, nowait=False):
    """Declare the exchanges (unless ``exchanges`` is False: already done on
    this channel), the topic's queue and its dead-letter queue. ``nowait``
    pipelines the declarations (no round trip each; an error closes the
    channel later instead of raising here)."""
    if exchanges:
        for ex in (exchange(), dead_letter_exchange()):
            ex.declare(channel=channel)
    for q in (dead_letter_queue(topic), work_queue(topic)):
        q.declare(channel=channel, nowait=nowait)
