"""nova-lite-api: the HTTP API under gunicorn (gthread workers)."""
import sys

from gunicorn.app.base import BaseApplication

from nova_lite import service
from nova_lite.conf import CONF


class APIServer(BaseApplication):
    def __init__(self, options):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            if key in self.cfg.settings:        # older gunicorns lack newer settings
                self.cfg.set(key, value)

    def load(self):
        # Imported in each worker after fork: its own DB pool, publisher and relay.
        from nova_lite.api.app import create_app
        return create_app()


def gunicorn_options():
    log_target = CONF.log_file or "-"
    return {
        "bind": f"{CONF.api.bind_host}:{CONF.api.bind_port}",
        "workers": CONF.api.workers,
        "threads": CONF.api.threads,
        "worker_connections": CONF.api.worker_connections,
        "worker_class": "gthread",
        "timeout": 120,
        "graceful_timeout": 30,
        # Longer than any client's poll interval (openstackclient --wait polls
        # every 5 s): a server closing an idle connection just as the client
        # reuses it makes the client fail with "Remote end closed connection".
        "keepalive": 75,
        "backlog": 2048,
        "preload_app": False,
        "accesslog": log_target,
        "errorlog": log_target,
        "proc_name": "nova-lite-api",
        # gunicorn >= 25's control socket lives at one path per user: several
        # APIs on one host would fight over it. nova-lite does not use it.
        "control_socket_disable": True,
    }


def main(argv=None):
    service.setup("nova-lite-api", sys.argv[1:] if argv is None else argv)
    APIServer(gunicorn_options()).run()


if __name__ == "__main__":
    main()
