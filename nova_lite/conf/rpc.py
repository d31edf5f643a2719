"""[rpc]: the RabbitMQ bus (see doc/messaging.md)."""
from oslo_config import cfg

group = cfg.OptGroup("rpc", help="Message bus.")
opts = [
    cfg.StrOpt("transport_url", secret=True,
               default="rabbit://guest:guest@127.0.0.1:5672/",
               help="Broker URL. Several brokers of one cluster are separated by "
                    "commas: rabbit://u:p@h1:5672,u:p@h2:5672/vhost. Clients fail "
                    "over between them."),
    cfg.StrOpt("exchange", default="nova_lite",
               help="Name of the durable topic exchange every message goes through."),
    cfg.IntOpt("heartbeat", default=30, min=0,
               help="AMQP heartbeat in seconds; 0 disables it."),
    cfg.IntOpt("prefetch_count", default=16, min=1,
               help="Unacknowledged messages a worker holds at once; also the "
                    "number of handler threads."),
    cfg.IntOpt("delivery_limit", default=5, min=1,
               help="Deliveries of one message before it is dead-lettered to "
                    "<queue>.dlq (quorum queues)."),
    cfg.FloatOpt("retry_window", default=30.0, min=0.0,
                 help="Seconds a worker keeps retrying a handler that fails on a "
                      "transient error (database restarting or refusing connections, "
                      "broker failover while its follow-up messages were confirmed), "
                      "after 0.5, 1, 2, 4, 8, 8 ... seconds, before it gives the "
                      "message back to the queue as one failed delivery. So a message "
                      "is dead-lettered only after about delivery_limit x retry_window "
                      "seconds of such errors. The message stays unacknowledged "
                      "meanwhile (it holds a prefetch slot). 0 requeues at once."),
    cfg.StrOpt("shared_queue_type", default="quorum", choices=["quorum", "classic"],
               help="Queue type of the shared topic queues (conductor, scheduler)."),
    cfg.StrOpt("compute_queue_type", default="quorum", choices=["quorum", "classic"],
               help="Queue type of each compute.<host> queue."),
    cfg.IntOpt("publish_window", default=256, min=1,
               help="Publishes a process keeps in flight awaiting broker confirms."),
    cfg.FloatOpt("call_timeout", default=30.0, min=0.1,
                 help="Seconds an RPC call (e.g. console output) waits for its reply "
                      "before the caller gets a clear timeout error."),
    cfg.FloatOpt("publish_timeout", default=10.0, min=0.1,
                 help="Seconds to wait for the broker to confirm a publish."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return [(group.name, opts)]
