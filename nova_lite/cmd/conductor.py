"""nova-lite-conductor: consumes the ``conductor`` queue."""
import functools
import sys

from nova_lite import service
from nova_lite.conductor import reconciler
from nova_lite.conductor.manager import ConductorManager
from nova_lite.conf import CONF
from nova_lite.db import services


def main(argv=None):
    service.setup("nova-lite-conductor", sys.argv[1:] if argv is None else argv)
    service.serve("nova-lite-conductor", "conductor", ConductorManager(),
                  [service.Periodic("heartbeat", CONF.report_interval, functools.partial(
                      services.record_heartbeat, CONF.host, "nova-lite-conductor", "conductor")),
                   service.Periodic("reconcile", CONF.conductor.reconcile_interval,
                                    reconciler.reconcile_once, run_first=False)])


if __name__ == "__main__":
    main()
