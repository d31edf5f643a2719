"""Broker URLs and connections.

``[rpc] transport_url`` may name several brokers of one cluster:
``rabbit://u:p@h1:5672,u:p@h2:5673/vhost``. kombu gets them as a failover
list and moves round-robin to the next when one is unreachable."""
import urllib.parse

from kombu import Connection

from nova_lite.conf import CONF


def broker_urls(transport_url):
    """Split a transport URL into one amqp:// URL per broker."""
    parsed = urllib.parse.urlsplit(transport_url)
    if parsed.scheme not in ("rabbit", "amqp", "pyamqp"):
        raise ValueError(f"unsupported transport {parsed.scheme!r} in transport_url")
    vhost = parsed.path[1:] if parsed.path.startswith("/") else parsed.path
    urls = []
    for hostpart in parsed.netloc.split(","):
        hostpart = hostpart.strip()
        if not hostpart:
            continue
        urls.append(f"amqp://{hostpart}/{vhost}")
    if not urls:
        raise ValueError("transport_url names no broker")
    return urls


def connect(heartbeat=None, confirm_publish=True):
    """A (lazy) kombu Connection to the cluster, failing over between brokers.

    ``confirm_publish`` makes every publish on its channels wait for the
    broker's confirm; the Publisher turns it off and tracks confirms itself."""
    return Connection(
        ";".join(broker_urls(CONF.rpc.transport_url)),
        failover_strategy="round-robin",
        heartbeat=CONF.rpc.heartbeat if heartbeat is None else heartbeat,
        connect_timeout=5,
        transport_options={
            "confirm_publish": confirm_publish,
            "max_retries": 3,
            "interval_start": 0.2,
            "interval_step": 0.5,
            "interval_max": 2,
        },
    )
