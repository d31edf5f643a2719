"""The fake driver: guests are entries in a dict. For tests of the controller,
where the point is the control plane, not the hypervisor.

Injection, by instance metadata:
  ``fake_spawn_error``    the spawn fails with that text as the error;
  ``fake_resize_error``   a resize fails with that text (after the claim: its
                          undo runs);
  ``fake_spawn_seconds``  the spawn takes that long (at most 60 s), on top of
                          [fake] spawn_seconds: a server that stays in BUILD
                          for a while, whichever host builds it."""
import math
import socket
import threading
import time

from nova_lite.compute.virt import driver
from nova_lite.conf import CONF
from nova_lite.objects import states

FAIL_KEY = "fake_spawn_error"
RESIZE_FAIL_KEY = "fake_resize_error"
DELAY_KEY = "fake_spawn_seconds"
MAX_DELAY = 60.0


class SpawnError(Exception):
    pass


class FakeDriver(driver.ComputeDriver):
    hypervisor_type = "fake"
    needs_image = False

    def __init__(self):
        self._guests = {}
        self._consoles = {}
        self._lock = threading.Lock()
        self.flavors = {}                    # uuid -> the flavor it was last given

    def host_resources(self):
        return {"vcpus": CONF.fake.vcpus, "memory_mb": CONF.fake.memory_mb,
                "local_gb": CONF.fake.local_gb, "hypervisor_hostname": CONF.host,
                "hypervisor_type": self.hypervisor_type, "hypervisor_version": 1000,
                "host_ip": _host_ip()}

    def exists(self, instance_uuid):
        with self._lock:
            return instance_uuid in self._guests

    def spawn(self, instance, image=None):
        metadata = instance.get("metadata") or {}
        delay = CONF.fake.spawn_seconds + _seconds(metadata.get(DELAY_KEY))
        if delay:
            time.sleep(delay)
        error = metadata.get(FAIL_KEY)
        if error:
            raise SpawnError(error)
        with self._lock:
            self._guests[instance["uuid"]] = states.RUNNING
            self._consoles[instance["uuid"]] = [f"fake guest {instance['name']} booted\n"]

    def destroy(self, instance_uuid):
        with self._lock:
            self._guests.pop(instance_uuid, None)
            self._consoles.pop(instance_uuid, None)

    def power_state(self, instance_uuid):
        with self._lock:
            if instance_uuid not in self._guests:
                raise driver.InstanceNotFound(instance_uuid)
            return self._guests[instance_uuid]

    def list_instances(self):
        with self._lock:
            return list(self._guests)


    # Power actions move the guest between fake power states.
    def _set(self, instance_uuid, allowed, new_state, line):
        with self._lock:
            current = self._guests.get(instance_uuid)
            if current is None:
                raise driver.InstanceNotFound(instance_uuid)
            if current not in allowed and current != new_state:
                raise driver.InvalidPowerState(
                    f"guest {instance_uuid} is in power state {current}")
            self._guests[instance_uuid] = new_state
            self._consoles[instance_uuid].append(line + "\n")

    def power_off(self, instance_uuid, timeout=None):
        self._set(instance_uuid, (states.RUNNING, states.PAUSED_POWER), states.SHUTDOWN,
                  "power off")

    def power_on(self, instance_uuid):
        self._set(instance_uuid, (states.SHUTDOWN, states.CRASHED), states.RUNNING,
                  "power on")

    def reboot(self, instance_uuid, hard=False):
        allowed = (states.RUNNING,) if not hard else (
            states.RUNNING, states.SHUTDOWN, states.PAUSED_POWER, states.SUSPENDED_POWER)
        with self._lock:
            current = self._guests.get(instance_uuid)
        if current is None:
            raise driver.InstanceNotFound(instance_uuid)
        if current not in allowed:
            raise driver.InvalidPowerState(f"cannot reboot from power state {current}")
        self._set(instance_uuid, allowed, states.RUNNING,
                  "hard reboot" if hard else "reboot")

    def pause(self, instance_uuid):
        self._set(instance_uuid, (states.RUNNING,), states.PAUSED_POWER, "paused")

    def unpause(self, instance_uuid):
        self._set(instance_uuid, (states.PAUSED_POWER,), states.RUNNING, "unpaused")

    def suspend(self, instance_uuid):
        self._set(instance_uuid, (states.RUNNING,), states.SUSPENDED_POWER, "suspended")

    def resume(self, instance_uuid):
        self._set(instance_uuid, (states.SUSPENDED_POWER,), states.RUNNING, "resumed")

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
            self._consoles[uuid].append(f"rebuilt from image {instance.get('image_ref')}\n")

    def resize(self, instance):
        uuid = instance["uuid"]
        error = (instance.get("metadata") or {}).get(RESIZE_FAIL_KEY)
        if error:
            raise SpawnError(error)
        with self._lock:
            if uuid not in self._guests:
                raise driver.InstanceNotFound(uuid)
            self.flavors[uuid] = instance.get("flavor")
            self._consoles[uuid].append(f"resized to {instance['vcpus']} vCPUs, "
                                        f"{instance['memory_mb']} MB\n")

    def confirm_resize(self, instance_uuid):
        if not self.exists(instance_uuid):
            raise driver.InstanceNotFound(instance_uuid)

    def revert_resize(self, instance):
        uuid = instance["uuid"]
        with self._lock:
            if uuid not in self._guests:
                raise driver.InstanceNotFound(uuid)
            self.flavors[uuid] = instance.get("old_flavor")
            self._consoles[uuid].append("resize reverted\n")

    def console_output(self, instance_uuid):
        with self._lock:
            if instance_uuid not in self._consoles:
                raise driver.InstanceNotFound(instance_uuid)
            return "".join(self._consoles[instance_uuid])

    def snapshot(self, instance_uuid, target_path):
        if not self.exists(instance_uuid):
            raise driver.InstanceNotFound(instance_uuid)
        with open(target_path, "wb") as f:
            f.write(b"QFI\xfb" + instance_uuid.encode() + b"\0" * 4096)
        return "qcow2"


def _host_ip():
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def _seconds(value):
    """A metadata delay as seconds in [0, MAX_DELAY]; 0 if it is not a number."""
    try:
        seconds = float(value or 0)
    except ValueError:
        return 0.0
    return min(max(seconds, 0.0), MAX_DELAY) if math.isfinite(seconds) else 0.0
