"""[database]: the PostgreSQL connection, the only source of truth."""
from oslo_config import cfg

group = cfg.OptGroup("database", help="PostgreSQL connection.")
opts = [
    cfg.StrOpt("connection", secret=True,
               default="postgresql+psycopg2://nova_lite:nova_lite@127.0.0.1/nova_lite",
               help="SQLAlchemy URL of the PostgreSQL database."),
    cfg.IntOpt("pool_size", default=20, min=1,
               help="Connections kept open per process (opened as needed). Keep it "
                    "at least the threads of a process that use the database at "
                    "once: an API worker's [api] threads + its outbox relay, a "
                    "service's [rpc] prefetch_count handlers + its periodic tasks. "
                    "A use beyond it opens and closes a connection each time."),
    cfg.IntOpt("max_overflow", default=10, min=0,
               help="Extra connections a process may open under load."),
    cfg.IntOpt("pool_timeout", default=30, min=1,
               help="Seconds to wait for a free pooled connection."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return [(group.name, opts)]
