"""The compute service's RPC handlers and its resource report."""
import collections
import logging
import threading
import traceback

from nova_lite.compute.virt import driver as driver_mod
from nova_lite.conf import CONF
from nova_lite.rpc import casts

LOG = logging.getLogger(__name__)


class InstanceLocks:
    """One lock per instance uuid, dropped when nobody holds or waits for it."""

    def __init__(self):
        self._guard = threading.Lock()
        self._locks = {}
        self._users = collections.Counter()

    def __call__(self, instance_uuid):
        return _Held(self, instance_uuid)


class _Held:
    def __init__(self, owner, key):
        self.owner, self.key = owner, key

    def __enter__(self):
        with self.owner._guard:
            lock = self.owner._locks.setdefault(self.key, threading.Lock())
            self.owner._users[self.key] += 1
        lock.acquire()

    def __exit__(self, *exc):
        with self.owner._guard:
            self.owner._locks[self.key].release()
            self.owner._users[self.key] -= 1
            if not self.owner._users[self.key]:
                del self.owner._users[self.key]
                del self.owner._locks[self.key]


class ComputeManager:
    RPC_METHODS = ("build_and_run_instance", "terminate_instance")

    def __init__(self, driver=None, host=None):
        self.host = host or CONF.host
        self.driver = driver or driver_mod.load(CONF.compute.virt_driver)
        self._locks = InstanceLocks()

    def build_and_run_instance(self, context, instance):
        uuid = instance["uuid"]
        with self._locks(uuid):
            if not self.driver.exists(uuid):
                try:
                    self.driver.spawn(instance)
                except Exception as exc:  # noqa: BLE001 - any driver failure ends the build
                    LOG.warning("spawn of %s failed: %s", uuid, exc)
                    self._cleanup(uuid)
                    casts.send(casts.instance_spawn_failed(
                        uuid, self.host, f"Build of instance {uuid} aborted: {exc}",
                        details=traceback.format_exc()[-4000:]), context)
                    return
            state = self.driver.power_state(uuid)
        casts.send(casts.instance_spawned(uuid, self.host, state), context)

    def terminate_instance(self, context, instance_uuid):
        with self._locks(instance_uuid):
            self.driver.destroy(instance_uuid)
        casts.send(casts.instance_terminated(instance_uuid, self.host), context)

    def _cleanup(self, uuid):
        try:
            self.driver.destroy(uuid)
        except Exception:  # noqa: BLE001 - report the spawn error, log this one
            LOG.exception("cleanup of failed instance %s failed", uuid)

    def report_resources(self):
        resources = dict(self.driver.host_resources())
        resources.update({
            "cpu_allocation_ratio": CONF.compute.cpu_allocation_ratio,
            "ram_allocation_ratio": CONF.compute.ram_allocation_ratio,
            "disk_allocation_ratio": CONF.compute.disk_allocation_ratio,
            "reserved_host_memory_mb": CONF.compute.reserved_host_memory_mb,
            "reserved_host_disk_mb": CONF.compute.reserved_host_disk_mb,
        })
        casts.send(casts.compute_node_update(self.host, resources))
