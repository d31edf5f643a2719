"""nova-lite-conductor: consumes the ``conductor`` queue."""
import sys

from nova_lite import service
from nova_lite.conductor import reconciler
from nova_lite.conductor.manager import ConductorManager
from nova_lite.conf import CONF
from nova_lite.db import services
from nova_lite.db.session import transaction


def _heartbeat():
    with transaction() as session:
        services.heartbeat(session, CONF.host, "nova-lite-conductor", "conductor")


def main(argv=None):
    service.setup("nova-lite-conductor", sys.argv[1:] if argv is None else argv)
    service.serve("nova-lite-conductor", "conductor", ConductorManager(),
                  [service.Periodic("heartbeat", CONF.report_interval, _heartbeat),
                   service.Periodic("reconcile", CONF.conductor.reconcile_interval,
                                    reconciler.reconcile_once, run_first=False)])


if __name__ == "__main__":
    main()
