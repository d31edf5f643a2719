"""nova-lite-compute: consumes ``compute.<host>``; reports its resources (and
so its heartbeat) to the conductor every [DEFAULT] report_interval."""
import sys

from nova_lite import service
from nova_lite.compute.manager import ComputeManager
from nova_lite.conf import CONF
from nova_lite.rpc import topology


def main(argv=None):
    service.setup("nova-lite-compute", sys.argv[1:] if argv is None else argv)
    manager = ComputeManager()
    service.serve("nova-lite-compute", topology.compute_topic(manager.host), manager,
                  [service.Periodic("report_resources", CONF.report_interval,
                                    manager.report_resources),
                   service.Periodic("sync_power_states",
                                    CONF.compute.sync_power_state_interval,
                                    manager.sync_power_states, run_first=False)])


if __name__ == "__main__":
    main()
