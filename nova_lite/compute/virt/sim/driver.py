"""SimDriver: one simulated hypervisor. Guests are entries in a dict; the time a
spawn or destroy takes is simulated by whoever runs the handler (see
``delay``), so thousands of hosts need no sleeping threads."""
import random
import threading

from nova_lite.compute.virt import driver
from nova_lite.conf import CONF
from nova_lite.objects import states

# An instance whose metadata has this key fails to spawn with its text (tests).
FAIL_KEY = "sim_spawn_error"


class SimulatedFailure(Exception):
    """An injected hypervisor failure ([sim] failure_rate or FAIL_KEY)."""


class SimDriver(driver.ComputeDriver):
    hypervisor_type = "sim"
    needs_image = False

    def __init__(self, host=None, rng=None):
        self.host = host or CONF.host
        self._guests = {}                    # uuid -> power state
        self._lock = threading.Lock()
        self.flavors = {}                    # uuid -> the flavor it was last given
        self._random = rng or random.Random()
        self.spawned = 0
        self.failed = 0

    # -- what the runner asks ------------------------------------------------------
    def delay(self, method):
        """Simulated seconds the compute method takes on this host."""
        if method == "build_and_run_instance":
            return CONF.sim.spawn_time
        if method == "terminate_instance":
            return CONF.sim.delete_time
        return 0.0

    # -- ComputeDriver ---------------------------------------------------------------
    def host_resources(self):
        return {"vcpus": CONF.sim.vcpus, "memory_mb": CONF.sim.memory_mb,
                "local_gb": CONF.sim.local_gb, "hypervisor_hostname": self.host,
                "hypervisor_type": self.hypervisor_type, "hypervisor_version": 1000,
                "host_ip": "127.0.0.1"}

    def exists(self, instance_uuid):
        return instance_uuid in self._guests

    def spawn(self, instance, image=None):
        error = (instance.get("metadata") or {}).get(FAIL_KEY)
        rate = CONF.sim.failure_rate
        if error is None and rate and self._random.random() < rate:
            error = f"simulated hypervisor failure on {self.host} (failure_rate {rate})"
        if error:
            self.failed += 1
            raise SimulatedFailure(error)
        with self._lock:
            self._guests[instance["uuid"]] = states.RUNNING
            self.spawned += 1

    def destroy(self, instance_uuid):
        with self._lock:
            self._guests.pop(instance_uuid, None)

    def power_state(self, instance_uuid):
        try:
            return self._guests[instance_uuid]
        except KeyError:
            raise driver.InstanceNotFound(instance_uuid) from None

    def list_instances(self):
        with self._lock:
            return list(self._guests)

    def _set(self, instance_uuid, allowed, new_state):
        with self._lock:
            current = self._guests.get(instance_uuid)
            if current is None:
                raise driver.InstanceNotFound(instance_uuid)
            if current not in allowed and current != new_state:
                raise driver.InvalidPowerState(
                    f"guest {instance_uuid} is in power state {current}")
            self._guests[instance_uuid] = new_state

    def power_off(self, instance_uuid, timeout=None):
        self._set(instance_uuid, (states.RUNNING, states.PAUSED_POWER), states.SHUTDOWN)

    def power_on(self, instance_uuid):
        self._set(instance_uuid, (states.SHUTDOWN, states.CRASHED), states.RUNNING)

    def reboot(self, instance_uuid, hard=False):
        allowed = (states.RUNNING,) if not hard else (
            states.RUNNING, states.SHUTDOWN, states.PAUSED_POWER, states.SUSPENDED_POWER)
        with self._lock:
            current = self._guests.get(instance_uuid)
        if current is None:
            raise driver.InstanceNotFound(instance_uuid)
        if current not in allowed:
            raise driver.InvalidPowerState(f"cannot reboot from power state {current}")
        self._set(instance_uuid, allowed, states.RUNNING)

    def pause(self, instance_uuid):
        self._set(instance_uuid, (states.RUNNING,), states.PAUSED_POWER)

    def unpause(self, instance_uuid):
        self._set(instance_uuid, (states.PAUSED_POWER,), states.RUNNING)

    def suspend(self, instance_uuid):
        self._set(instance_uuid, (states.RUNNING,), states.SUSPENDED_POWER)

    def resume(self, instance_uuid):
        self._set(instance_uuid, (states.SUSPENDED_POWER,), states.RUNNING)

    # Rebuild and resize change no power state: the guest keeps running or
    # stopped (a guest in ERROR that is rebuilt runs). The flavor is recorded.
    def rebuild(self, instance, image=None):
        uuid = instance["uuid"]
        with self._lock:
            if uuid not in self._guests:
                raise driver.InstanceNotFound(uuid)
            if self._guests[uuid] != states.SHUTDOWN:
                self._guests[uuid] = states.RUNNING
            self.flavors[uuid] = instance.get("flavor")

    def resize(self, instance):
        uuid = instance["uuid"]
        with self._lock:
            if uuid not in self._guests:
                raise driver.InstanceNotFound(uuid)
            self.flavors[uuid] = instance.get("flavor")

    def confirm_resize(self, instance_uuid):
        if not self.exists(instance_uuid):
            raise driver.InstanceNotFound(instance_uuid)

    def revert_resize(self, instance):
        uuid = instance["uuid"]
        with self._lock:
            if uuid not in self._guests:
                raise driver.InstanceNotFound(uuid)
            self.flavors[uuid] = instance.get("old_flavor")

    def console_output(self, instance_uuid):
        state = self.power_state(instance_uuid)
        return f"simulated guest {instance_uuid} on {self.host}, power state {state}\n"

    def snapshot(self, instance_uuid, target_path):
        self.power_state(instance_uuid)
        with open(target_path, "wb") as f:
            f.write(b"QFI\xfb" + instance_uuid.encode() + b"\0" * 4096)
        return "qcow2"
