"""nova-lite-compute: consumes ``compute.<host>``; reports its resources (and
so its heartbeat) to the conductor every [DEFAULT] report_interval.

With ``[compute] virt_driver = sim`` one process runs ``[sim] hosts``
simulated hosts, each consuming its own ``compute.<host>`` queue and
reporting as its own compute service (see nova_lite/compute/virt/sim)."""
import sys

from nova_lite import service
from nova_lite.conf import CONF
from nova_lite.rpc import topology


def main(argv=None):
    service.setup("nova-lite-compute", sys.argv[1:] if argv is None else argv)
    if CONF.compute.virt_driver == "sim":
        return run_sim_fleet()
    from nova_lite.compute.manager import ComputeManager
    manager = ComputeManager()
    service.serve("nova-lite-compute", topology.compute_topic(manager.host), manager,
                  [service.Periodic("report_resources", CONF.report_interval,
                                    manager.report_resources),
                   service.Periodic("sync_power_states",
                                    CONF.compute.sync_power_state_interval,
                                    manager.sync_power_states, run_first=False),
                   # Re-applies bridges, dnsmasq and nftables (a dnsmasq that died).
                   service.Periodic("sync_network", CONF.report_interval,
                                    manager.sync_network, run_first=False)])


def run_sim_fleet():
    from nova_lite.compute.virt.sim.fleet import SimFleet
    fleet = SimFleet()
    fleet.start_reports()
    service.run("nova-lite-compute", fleet.server,
                topic=f"{len(fleet.names)} simulated hosts ({fleet.names[0]}..)")
    fleet.stop()


if __name__ == "__main__":
    main()
