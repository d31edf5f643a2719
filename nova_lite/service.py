"""Running a worker service: config, logging, periodic tasks, one RPC server.

    nova-lite-<binary> --config-file F
        -> parse config, set up logging
        -> start periodic tasks (heartbeat, resource reports, ...) in threads
        -> RPCServer(topic, manager endpoints).run()   # until SIGTERM / SIGINT
On SIGTERM the server stops taking deliveries, lets running handlers finish,
settles them, and exits; unacked messages go back to the queue."""
import logging
import signal
import threading

from nova_lite import conf, log
from nova_lite.rpc import server as rpc_server

LOG = logging.getLogger(__name__)


def endpoints(manager):
    """The public methods of a manager named in its ``RPC_METHODS``."""
    return {name: getattr(manager, name) for name in manager.RPC_METHODS}


class Periodic:
    """Call ``fn`` every ``interval`` seconds in a daemon thread; errors are logged."""

    def __init__(self, name, interval, fn, run_first=True):
        self.name, self.interval, self.fn, self.run_first = name, interval, fn, run_first
        self._stop = threading.Event()

    def start(self):
        threading.Thread(target=self._run, name=f"periodic-{self.name}", daemon=True).start()
        return self

    def stop(self):
        self._stop.set()

    def _run(self):
        if not self.run_first:
            self._stop.wait(self.interval)
        while not self._stop.is_set():
            try:
                self.fn()
            except Exception:  # noqa: BLE001 - a periodic task must keep running
                LOG.exception("periodic task %s failed", self.name)
            self._stop.wait(self.interval)


def setup(binary, argv):
    """Parse the command line and config files, and set up logging."""
    conf.parse_args(argv)
    log.setup(binary)


def serve(binary, topic, manager, periodic_tasks=()):
    """Consume ``topic`` with ``manager``'s endpoints until told to stop.

    A manager may say how many messages it handles at once (its
    ``rpc_concurrency``, e.g. the scheduler's batch size); else
    [rpc] prefetch_count."""
    server = rpc_server.RPCServer(topic, endpoints(manager),
                                  concurrency=getattr(manager, "rpc_concurrency", None))
    run(binary, server, periodic_tasks, topic)


def run(binary, server, periodic_tasks=(), topic=None):
    """Run ``server`` (an RPCServer or MultiTopicServer) until SIGTERM/SIGINT."""
    topic = topic or getattr(server, "topic", "?")
    tasks = [task.start() for task in periodic_tasks]

    def _stop(signum, frame):
        LOG.info("%s: signal %d, stopping", binary, signum)
        server.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    LOG.info("%s starting on topic %s", binary, topic)
    server.run()
    for task in tasks:
        task.stop()
    LOG.info("%s stopped (handled %d, dead-lettered %d)", binary, server.handled,
             server.dead_lettered)
