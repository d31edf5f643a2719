"""[DEFAULT] options shared by every service."""
import socket

from oslo_config import cfg

opts = [
    cfg.StrOpt("host", default=socket.gethostname(), sample_default="<hostname>",
               help="Name of this host. A compute service consumes queue "
                    "compute.<host> and registers under this name."),
    cfg.StrOpt("state_path", default="/var/lib/nova-lite",
               help="Top-level directory for nova-lite's state on this host."),
    cfg.BoolOpt("debug", default=False, help="Log at DEBUG level."),
    cfg.StrOpt("log_file", help="Log to this file instead of standard error."),
    cfg.IntOpt("report_interval", default=10, min=1,
               help="Seconds between service heartbeats."),
    cfg.IntOpt("service_down_time", default=60, min=1,
               help="A service whose last heartbeat is older than this many "
                    "seconds is down; the scheduler places nothing on it."),
]


def register_opts(conf):
    conf.register_opts(opts)


def list_opts():
    return [("DEFAULT", opts)]
