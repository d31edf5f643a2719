"""[api]: the HTTP front (Identity, Compute, Image under one process)."""
from oslo_config import cfg

group = cfg.OptGroup("api", help="HTTP API service.")
opts = [
    cfg.HostAddressOpt("bind_host", default="0.0.0.0", help="Address to listen on."),
    cfg.PortOpt("bind_port", default=8774, help="Port to listen on."),
    cfg.IntOpt("workers", default=2, min=1, help="gunicorn worker processes."),
    cfg.IntOpt("threads", default=8, min=1, help="Threads per gunicorn worker."),
    cfg.IntOpt("worker_connections", default=5000, min=1,
               help="Open client connections a gunicorn (gthread) worker holds at "
                    "once, busy or idle keep-alive; beyond that it stops accepting "
                    "and clients wait in the listen backlog. workers x "
                    "worker_connections is how many clients can be connected at "
                    "once (2 x 5000: 10,000). Each is a file descriptor: keep the "
                    "process's open-files limit (ulimit -n) above it."),
    cfg.StrOpt("public_endpoint",
               help="Base URL clients reach this API at, e.g. http://10.0.0.5:8774. "
                    "Used in the service catalog and in links. Defaults to "
                    "http://<host>:<bind_port>."),
    cfg.IntOpt("max_limit", default=1000, min=1,
               help="Most items a list request returns in one page."),
    cfg.IntOpt("max_request_body_size", default=262144, min=1024,
               help="Largest request body, in bytes, the API reads; a larger one "
                    "answers 413 (Compute overLimit, Identity 413, NeutronError "
                    "HTTPRequestEntityTooLarge) before any handler runs, from "
                    "Content-Length or, for a chunked body, while reading it. "
                    "Image data uploads (PUT /image/v2/images/<id>/file) stream "
                    "and are exempt ([image] max_image_size limits them). 256 KiB: "
                    "oslo.middleware's 112 KiB default is too small for the "
                    "largest legitimate body, a server create with 64 KiB of "
                    "user_data (about 87 KiB once base64-encoded) plus personality "
                    "files, metadata and its JSON around it."),
    cfg.IntOpt("max_json_depth", default=64, min=2,
               help="Deepest nesting of arrays and objects a JSON request body may "
                    "have; deeper answers 400 before it is parsed. Compute, "
                    "Identity, Image and Networking bodies nest fewer than 10 "
                    "levels."),
    cfg.IntOpt("max_url_length", default=8192, min=256,
               help="Longest request target (path and query string, as sent), in "
                    "bytes; longer answers 414 in the API's error format."),
    cfg.IntOpt("max_header_size", default=16384, min=1024,
               help="Largest total size of a request's header fields (names and "
                    "values), in bytes; larger answers 431 in the API's error "
                    "format. nova-lite-api sets gunicorn's own header limits "
                    "above this one so that its plain-HTML errors are not what a "
                    "client sees first."),
    cfg.FloatOpt("outbox_sweep_interval", default=1.0, min=0.05,
                 help="Seconds between sweeps of unsent outbox rows."),
    cfg.FloatOpt("outbox_linger", default=0.02, min=0.0, max=1.0,
                 help="Seconds the outbox relay waits after a commit wakes it, so "
                      "that one sweep (one transaction, one wait for the broker's "
                      "confirms) carries the messages of every request that "
                      "commits meanwhile. Adds up to this much to the time from "
                      "accept to schedule; 0 sweeps at once."),
    cfg.IntOpt("token_cache_ttl", default=60, min=0,
               help="Seconds a worker keeps a token it has checked (never past the "
                    "token's expiry), so later requests skip the Fernet decrypt. "
                    "Cached tokens are still checked against revocations on every "
                    "request. 0 turns the cache off."),
    cfg.IntOpt("token_cache_size", default=10000, min=1,
               help="Most tokens a worker keeps checked (least recently used go "
                    "first)."),
    cfg.IntOpt("flavor_cache_ttl", default=10, min=0,
               help="Seconds a worker keeps a flavor it looked up for server create. "
                    "A flavor deleted (or disabled in the database) is refused by "
                    "the other workers within this time. 0 looks it up every time."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return [(group.name, opts)]
