"""nova-lite-api: the HTTP API under gunicorn (gthread workers).

Each worker dies with its master: a master that is killed (SIGKILL, OOM) takes
its workers with it at once, so the listening port is free for the master
that its supervisor starts next, which serves in the time it takes to boot."""
import ctypes
import logging
import os
import signal
import sys

from gunicorn.app.base import BaseApplication

from nova_lite import service
from nova_lite.conf import CONF

LOG = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1        # <linux/prctl.h>


def die_with_master(arbiter, worker):
    """gunicorn's post_fork hook, in each new worker: ask the kernel to SIGKILL
    this worker when its master dies.

    Without it a worker outlives a killed master: gunicorn's worker only
    notices its new parent once a second, then stops accepting but keeps the
    listening socket and its in-flight requests for graceful_timeout (30 s),
    during which a new master cannot bind the port ("Address already in use")
    and connections queue on a socket no one accepts from. SIGKILL rather than
    SIGTERM, which would start exactly that graceful wait; the requests cut
    short committed nothing (their transactions roll back) or were committed
    with their outbox rows, which the next relay sends. SO_REUSEPORT would let
    the new master bind beside old workers still serving the old code: no.

    The master may have died between fork() and prctl(): then no signal
    comes, and the parent is no longer the master, so the worker exits."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl(PR_SET_PDEATHSIG): {os.strerror(errno)}")
    if os.getppid() != worker.ppid:
        LOG.warning("API master %s died before worker %s started; exiting",
                    worker.ppid, os.getpid())
        os._exit(1)


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
        "post_fork": die_with_master,
        # gunicorn answers a request line or a header over its limits with a
        # plain-HTML 400 of its own: its limits sit above the API's ([api]
        # max_url_length, max_header_size), which answer 414 and 431 in the
        # API's JSON. 0: no request-line limit (gunicorn's maximum otherwise
        # is 8190); a header field may be 4 x max_header_size, and there may
        # be as many fields as the smallest ("A:b") fit in max_header_size.
        "limit_request_line": 0,
        "limit_request_field_size": 4 * CONF.api.max_header_size,
        "limit_request_fields": min(32768, CONF.api.max_header_size // 4 + 1),
    }


def main(argv=None):
    service.setup("nova-lite-api", sys.argv[1:] if argv is None else argv)
    APIServer(gunicorn_options()).run()


if __name__ == "__main__":
    main()
