"""[sim]: the simulated hosts of ``virt_driver = sim`` (see doc/scale.md).

One nova-lite-compute process with ``[compute] virt_driver = sim`` runs
``hosts`` simulated hypervisors named ``<host_prefix><n>``; each is a real
compute service to the rest of the system (its own ``compute.<host>`` queue,
compute node row, heartbeat and guests)."""
from oslo_config import cfg

group = cfg.OptGroup("sim", help="Simulated hosts (virt_driver = sim), for scale runs.")
opts = [
    cfg.IntOpt("hosts", default=1, min=1,
               help="Simulated hosts this compute process runs."),
    cfg.StrOpt("host_prefix", default="sim-",
               help="Simulated host n (from first_index) is named <host_prefix><n>, "
                    "n zero-padded to 5 digits."),
    cfg.IntOpt("first_index", default=0, min=0,
               help="Number of the first simulated host, so several processes can "
                    "run disjoint ranges (process k: first_index = k * hosts)."),
    cfg.FloatOpt("spawn_time", default=0.0, min=0.0,
                 help="Seconds a simulated spawn takes (the host's message is held "
                      "unacknowledged meanwhile, as a real host holds it)."),
    cfg.FloatOpt("delete_time", default=0.0, min=0.0,
                 help="Seconds a simulated destroy takes."),
    cfg.FloatOpt("failure_rate", default=0.0, min=0.0, max=1.0,
                 help="Fraction of spawns that fail (the build ends in ERROR with a "
                      "fault, like a real hypervisor error)."),
    cfg.IntOpt("vcpus", default=32, min=1, help="CPUs each simulated host reports."),
    cfg.IntOpt("memory_mb", default=131072, min=1,
               help="RAM each simulated host reports."),
    cfg.IntOpt("local_gb", default=2048, min=1, help="Disk each simulated host reports."),
    cfg.IntOpt("workers", default=32, min=1,
               help="Handler threads shared by all simulated hosts of the process."),
    cfg.IntOpt("host_prefetch", default=16, min=1,
               help="Unacknowledged messages each simulated host holds at once (its "
                    "concurrency; the prefetch of its consumer)."),
    cfg.IntOpt("report_interval", default=20, min=1,
               help="Seconds between two heartbeats (resource reports) of one "
                    "simulated host; the reports of all hosts are spread evenly over "
                    "this interval. Keep it well under [DEFAULT] service_down_time."),
    cfg.BoolOpt("batch_reports", default=True,
                help="Send the heartbeats of many hosts in one conductor message "
                     "(compute_nodes_update: one transaction for them all) instead "
                     "of one compute_node_update per host."),
    cfg.IntOpt("report_batch_size", default=500, min=1,
               help="Most hosts in one batched report."),
    cfg.FloatOpt("coalesce_interval", default=0.02, min=0.0,
                 help="Seconds the hosts' build and delete reports are gathered "
                      "before they leave as one instances_spawned / "
                      "instances_terminated message (up to report_batch_size "
                      "each); 0 sends one message per report, as a real host does."),
    cfg.IntOpt("power_sync_interval", default=600, min=0,
               help="Seconds between two power-state reports of one simulated host, "
                    "spread over all hosts; 0 turns them off."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return [(group.name, opts)]
