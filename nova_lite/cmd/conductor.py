"""nova-lite-conductor: consumes the ``conductor`` queue, and beside it the
hosts' reports (``conductor.reports``: heartbeats, resources, power states),
each with its own prefetch, so a backlog of work never delays liveness.
Periodic beside them: its own heartbeat, the task reconciler and the
security-group membership fan-out (nova_lite.network.membership)."""
import functools
import sys

from nova_lite import service
from nova_lite.conductor import reconciler
from nova_lite.conductor.manager import ConductorManager
from nova_lite.conf import CONF
from nova_lite.db import services
from nova_lite.network import membership
from nova_lite.rpc import dead_letters, multi_server, topology


def main(argv=None):
    service.setup("nova-lite-conductor", sys.argv[1:] if argv is None else argv)
    endpoints = service.endpoints(ConductorManager())
    prefetch = CONF.rpc.prefetch_count
    # Both queues serve every method: a host of an older version may still
    # send its reports to the work queue.
    server = multi_server.MultiTopicServer(
        {"conductor": endpoints, topology.REPORTS_TOPIC: endpoints},
        concurrency=2 * prefetch, prefetch_per_topic=prefetch)
    service.run("nova-lite-conductor", server,
                [service.Periodic("heartbeat", CONF.report_interval, functools.partial(
                    services.record_heartbeat, CONF.host, "nova-lite-conductor",
                    "conductor")),
                 service.Periodic("reconcile", CONF.conductor.reconcile_interval,
                                  reconciler.reconcile_once, run_first=False),
                 service.Periodic("membership", CONF.network.membership_interval,
                                  membership.fanout),
                 # Reports and network_changed never wait in a .dlq for an
                 # operator (casts.ON_DEAD_LETTER).
                 service.Periodic("dead_letters", CONF.conductor.reconcile_interval,
                                  functools.partial(dead_letters.sweep,
                                                    ("conductor", topology.REPORTS_TOPIC)),
                                  run_first=False)],
                topic="conductor")


if __name__ == "__main__":
    main()
