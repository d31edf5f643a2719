"""[api]: the HTTP front (Identity, Compute, Image under one process)."""
from oslo_config import cfg

group = cfg.OptGroup("api", help="HTTP API service.")
opts = [
    cfg.HostAddressOpt("bind_host", default="0.0.0.0", help="Address to listen on."),
    cfg.PortOpt("bind_port", default=8774, help="Port to listen on."),
    cfg.IntOpt("workers", default=2, min=1, help="gunicorn worker processes."),
    cfg.IntOpt("threads", default=8, min=1, help="Threads per gunicorn worker."),
    cfg.StrOpt("public_endpoint",
               help="Base URL clients reach this API at, e.g. http://10.0.0.5:8774. "
                    "Used in the service catalog and in links. Defaults to "
                    "http://<host>:<bind_port>."),
    cfg.IntOpt("max_limit", default=1000, min=1,
               help="Most items a list request returns in one page."),
    cfg.FloatOpt("outbox_sweep_interval", default=1.0, min=0.05,
                 help="Seconds between sweeps of unsent outbox rows."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return [(group.name, opts)]
