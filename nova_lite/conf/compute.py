"""[compute] and [fake]: the per-host compute service and its virt driver."""
from oslo_config import cfg

group = cfg.OptGroup("compute", help="Compute service.")
opts = [
    cfg.StrOpt("virt_driver", default="fake", choices=["fake", "libvirt", "sim"],
               help="Hypervisor driver."),
    cfg.FloatOpt("cpu_allocation_ratio", default=16.0, min=0.0,
                 help="Virtual CPUs per physical CPU the scheduler may allocate."),
    cfg.FloatOpt("ram_allocation_ratio", default=1.5, min=0.0,
                 help="Virtual RAM per physical RAM the scheduler may allocate."),
    cfg.FloatOpt("disk_allocation_ratio", default=1.0, min=0.0,
                 help="Virtual disk per physical disk the scheduler may allocate."),
    cfg.IntOpt("reserved_host_memory_mb", default=512, min=0,
               help="RAM kept back for the host itself."),
    cfg.IntOpt("reserved_host_disk_mb", default=0, min=0,
               help="Disk kept back for the host itself."),
    cfg.IntOpt("sync_power_state_interval", default=60, min=1,
               help="Seconds between reports of every guest's real power state."),
    cfg.IntOpt("resize_confirm_window", default=0, min=0,
               help="Seconds a resized server waits in VERIFY_RESIZE before the "
                    "conductor confirms the resize itself; 0 waits for the user "
                    "forever (Nova's option and default)."),
    cfg.BoolOpt("allow_resize_to_same_host", default=True,
                help="Resize a server on the host it is on (resizes are done on the "
                     "same host only so far: with False, a resize is refused with "
                     "409). True by default, as a single node needs."),
]

fake_group = cfg.OptGroup("fake", help="The fake virt driver (no hypervisor).")
fake_opts = [
    cfg.IntOpt("vcpus", default=8, min=1, help="CPUs the fake host reports."),
    cfg.IntOpt("memory_mb", default=16384, min=1, help="RAM the fake host reports."),
    cfg.IntOpt("local_gb", default=200, min=1, help="Disk the fake host reports."),
    cfg.FloatOpt("spawn_seconds", default=0.0, min=0.0,
                 help="Time a fake spawn takes."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)
    conf.register_group(fake_group)
    conf.register_opts(fake_opts, group=fake_group)


def list_opts():
    return [(group.name, opts), (fake_group.name, fake_opts)]
