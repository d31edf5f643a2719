"""SimFleet: H simulated compute hosts in one nova-lite-compute process.

Each host is a :class:`nova_lite.compute.manager.ComputeManager` with its own
:class:`SimDriver`, consuming its own ``compute.<host>`` queue, so to the rest
of the system it is an ordinary compute service: it registers its compute
node and heartbeats (``compute_node_update``), receives its builds and
deletes, and reports to the conductor.

What is shared is what a process has one of: the broker connection of the
consumer (:class:`MultiTopicServer`), the publisher, a handler thread pool,
and the reporter thread. Reports are spread, never bursty: every tick the
reporter sends the hosts whose turn it is, so H hosts reporting every R
seconds cost a steady H/R messages a second (or H/R/batch with
``[sim] batch_reports``)."""
import logging
import threading
import time

from nova_lite.compute import reports as build_reports
from nova_lite.compute.manager import ComputeManager
from nova_lite.compute.virt.sim.driver import SimDriver
from nova_lite.conf import CONF
from nova_lite.rpc import casts, multi_server, topology
from nova_lite.rpc import publisher as publisher_mod

LOG = logging.getLogger(__name__)
TICK = 0.25


def host_names(count=None, prefix=None, first=None):
    count = CONF.sim.hosts if count is None else count
    prefix = CONF.sim.host_prefix if prefix is None else prefix
    first = CONF.sim.first_index if first is None else first
    return [f"{prefix}{n:05d}" for n in range(first, first + count)]


def resources(manager):
    """What ComputeManager.report_resources sends for this host."""
    found = dict(manager.driver.host_resources())
    found.update({
        "cpu_allocation_ratio": CONF.compute.cpu_allocation_ratio,
        "ram_allocation_ratio": CONF.compute.ram_allocation_ratio,
        "disk_allocation_ratio": CONF.compute.disk_allocation_ratio,
        "reserved_host_memory_mb": CONF.compute.reserved_host_memory_mb,
        "reserved_host_disk_mb": CONF.compute.reserved_host_disk_mb,
    })
    return found


class Spreader:
    """Calls ``send(batch_of_items)`` so that every item is sent once per
    ``interval`` seconds, evenly spread, in ticks of TICK seconds."""

    def __init__(self, items, interval, send):
        self.items, self.interval, self.send = list(items), interval, send
        self._cursor = 0.0

    def tick(self, elapsed):
        if not self.items or self.interval <= 0:
            return
        self._cursor += len(self.items) * elapsed / self.interval
        due = int(self._cursor)
        if due <= 0:
            return
        self._cursor -= due
        due = min(due, len(self.items))
        batch, self.items = self.items[:due], self.items[due:] + self.items[:due]
        self.send(batch)


class SimFleet:
    def __init__(self, names=None):
        self.names = names or host_names()
        self.reports = (build_reports.CoalescedReports(CONF.sim.coalesce_interval,
                                                       CONF.sim.report_batch_size)
                        if CONF.sim.coalesce_interval > 0 else build_reports.DirectReports())
        self.managers = {name: ComputeManager(driver=SimDriver(name), host=name,
                                              reports=self.reports)
                         for name in self.names}
        routes = {}
        for name, manager in self.managers.items():
            routes[topology.compute_topic(name)] = {
                method: getattr(manager, method) for method in manager.RPC_METHODS}
        self.server = multi_server.MultiTopicServer(
            routes, concurrency=CONF.sim.workers,
            prefetch_per_topic=CONF.sim.host_prefetch, delay=self._delay)
        self._stop = threading.Event()
        self.reports_sent = 0

    def _delay(self, topic, method):
        # Same settings for every host: ask any driver.
        return self.managers[self.names[0]].driver.delay(method)

    # -- reports ----------------------------------------------------------------------
    def _wait(self, futures, what):
        failed = publisher_mod.unconfirmed(futures)      # the next round sends them again
        if failed:
            LOG.warning("%d of %d %s were not confirmed by the broker", failed,
                        len(futures), what)

    def send_reports(self, names):
        """Heartbeat + resources of these hosts (one message each, or batched)."""
        size = CONF.sim.report_batch_size
        with publisher_mod.deferred_confirms() as sent:     # pipelined, then confirmed
            if CONF.sim.batch_reports:
                for i in range(0, len(names), size):
                    casts.send(casts.compute_nodes_update(
                        [{"host": n, "resources": resources(self.managers[n])}
                         for n in names[i:i + size]]))
            else:
                for name in names:
                    self.managers[name].report_resources()
        self._wait(sent.futures, "resource reports")
        self.reports_sent += len(names)

    def send_power_states(self, names):
        with publisher_mod.deferred_confirms() as sent:
            for name in names:
                self.managers[name].sync_power_states()
        self._wait(sent.futures, "power-state reports")

    def register(self):
        """Every host reports at once at start, so all are up within seconds."""
        started = time.monotonic()
        for i in range(0, len(self.names), 1000):
            self.send_reports(self.names[i:i + 1000])
        LOG.info("%d simulated hosts registered in %.1fs", len(self.names),
                 time.monotonic() - started)

    def _report_loop(self):
        try:
            self.register()
        except Exception:  # noqa: BLE001 - the spread reports retry
            LOG.exception("registering the simulated hosts failed")
        reports = Spreader(self.names, CONF.sim.report_interval, self.send_reports)
        power = Spreader(self.names, CONF.sim.power_sync_interval, self.send_power_states)
        last = time.monotonic()
        while not self._stop.wait(TICK):
            now = time.monotonic()
            elapsed, last = now - last, now
            for spreader in (reports, power):
                try:
                    spreader.tick(elapsed)
                except Exception:  # noqa: BLE001 - a report loop must keep running
                    LOG.exception("simulated host reports failed")

    # -- running ------------------------------------------------------------------------
    def start_reports(self):
        threading.Thread(target=self._report_loop, name="sim-reports", daemon=True).start()

    def stop(self):
        self._stop.set()
        self.server.stop()
        self.reports.stop()

    def stats(self):
        drivers = [m.driver for m in self.managers.values()]
        return {"hosts": len(drivers), "guests": sum(len(d._guests) for d in drivers),
                "spawned": sum(d.spawned for d in drivers),
                "failed": sum(d.failed for d in drivers),
                "delayed": self.server.delayed, "handled": self.server.handled,
                "reports_sent": self.reports_sent,
                **(self.reports.stats() if hasattr(self.reports, "stats") else {})}
