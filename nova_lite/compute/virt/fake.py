"""The fake driver: guests are entries in a dict. For tests of the controller,
where the point is the control plane, not the hypervisor.

Failure injection: an instance whose metadata has ``fake_spawn_error`` fails
to spawn with that text as the error."""
import socket
import threading
import time

from nova_lite.compute.virt import driver
from nova_lite.conf import CONF
from nova_lite.objects import states

FAIL_KEY = "fake_spawn_error"


class SpawnError(Exception):
    pass


class FakeDriver(driver.ComputeDriver):
    hypervisor_type = "fake"

    def __init__(self):
        self._guests = {}
        self._lock = threading.Lock()

    def host_resources(self):
        return {"vcpus": CONF.fake.vcpus, "memory_mb": CONF.fake.memory_mb,
                "local_gb": CONF.fake.local_gb, "hypervisor_hostname": CONF.host,
                "hypervisor_type": self.hypervisor_type, "hypervisor_version": 1000,
                "host_ip": _host_ip()}

    def exists(self, instance_uuid):
        with self._lock:
            return instance_uuid in self._guests

    def spawn(self, instance):
        if CONF.fake.spawn_seconds:
            time.sleep(CONF.fake.spawn_seconds)
        error = (instance.get("metadata") or {}).get(FAIL_KEY)
        if error:
            raise SpawnError(error)
        with self._lock:
            self._guests[instance["uuid"]] = states.RUNNING

    def destroy(self, instance_uuid):
        with self._lock:
            self._guests.pop(instance_uuid, None)

    def power_state(self, instance_uuid):
        with self._lock:
            return self._guests.get(instance_uuid, states.NOSTATE)

    def list_instances(self):
        with self._lock:
            return list(self._guests)


def _host_ip():
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"
