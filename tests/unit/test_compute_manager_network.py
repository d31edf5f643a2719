"""The compute manager wires networking around the driver: plug before spawn,
unplug after destroy (failed spawn, terminate), refresh_network, restore at
start; only for drivers that plug vifs and with [network] enabled. The data
plane itself is replaced by a recorder here (it is tested against the real
kernel in tests/functional/test_network_dataplane.py)."""
import uuid

import pytest

from nova_lite.compute import manager as manager_mod
from nova_lite.compute.virt.fake import FAIL_KEY, FakeDriver
from tests.fixtures.libvirtd import conf_overrides

VIF = {"port_id": "p1", "mac": "fa:16:3e:00:00:01", "network_id": "n1",
       "bridge": "nlbr-n1", "tap": "tapp1"}


class Recorder:
    def __init__(self, calls):
        self.calls = calls

    def __getattr__(self, name):
        return lambda *args: self.calls.append((name, *args))


class VifDriver(FakeDriver):
    plugs_vifs = True

    def __init__(self, calls):
        super().__init__()
        self.calls = calls

    def spawn(self, instance, image=None):
        self.calls.append(("spawn", instance["uuid"], instance.get("network_info")))
        super().spawn(instance, image)

    def destroy(self, instance_uuid):
        self.calls.append(("destroy", instance_uuid))
        super().destroy(instance_uuid)


@pytest.fixture
def calls(monkeypatch):
    recorded = []
    monkeypatch.setattr(manager_mod, "network_host", Recorder(recorded))
    monkeypatch.setattr(manager_mod.casts, "send",
                        lambda message, context=None: recorded.append(("cast", message.method)))
    with conf_overrides({("network", "enabled"): True}):
        yield recorded


def instance(**metadata):
    return {"uuid": str(uuid.uuid4()), "name": "vm", "metadata": metadata,
            "network_info": [VIF]}


def test_restore_at_start_then_plug_before_spawn(calls):
    manager = manager_mod.ComputeManager(driver=VifDriver(calls), host="h1")
    inst = instance()
    manager.build_and_run_instance({}, inst)
    assert calls == [("restore",), ("plug", inst["uuid"], [VIF]),
                     ("spawn", inst["uuid"], [VIF]), ("cast", "instance_spawned")]


def test_a_failed_spawn_is_unplugged_after_destroy(calls):
    manager = manager_mod.ComputeManager(driver=VifDriver(calls), host="h1")
    inst = instance(**{FAIL_KEY: "boom"})
    manager.build_and_run_instance({}, inst)
    assert calls[-3:] == [("destroy", inst["uuid"]), ("unplug", inst["uuid"]),
                          ("cast", "instance_spawn_failed")]


def test_terminate_unplugs_after_destroy(calls):
    manager = manager_mod.ComputeManager(driver=VifDriver(calls), host="h1")
    manager.terminate_instance({}, "u1")
    assert calls[-3:] == [("destroy", "u1"), ("unplug", "u1"), ("cast", "instance_terminated")]


def test_refresh_network(calls):
    manager = manager_mod.ComputeManager(driver=VifDriver(calls), host="h1")
    assert "refresh_network" in manager.RPC_METHODS
    manager.refresh_network({}, {"u1": [VIF]})
    assert calls[-1] == ("refresh", {"u1": [VIF]})


@pytest.mark.parametrize("enabled,driver_cls", [(False, VifDriver), (True, None)])
def test_no_networking_when_disabled_or_for_drivers_without_nics(calls, enabled, driver_cls):
    driver = driver_cls(calls) if driver_cls else FakeDriver()
    with conf_overrides({("network", "enabled"): enabled}):
        manager = manager_mod.ComputeManager(driver=driver, host="h1")
        inst = instance()
        manager.build_and_run_instance({}, inst)
        manager.refresh_network({}, {inst["uuid"]: [VIF]})
        manager.terminate_instance({}, inst["uuid"])
    assert not [c for c in calls if c[0] in ("restore", "plug", "unplug", "refresh")]


def test_an_unplug_failure_does_not_stop_the_terminate(calls, monkeypatch):
    def fail(_uuid):
        raise RuntimeError("nft failed")
    manager = manager_mod.ComputeManager(driver=VifDriver(calls), host="h1")
    monkeypatch.setattr(manager_mod.network_host.__class__, "unplug", staticmethod(fail),
                        raising=False)
    manager.terminate_instance({}, "u1")
    assert calls[-1] == ("cast", "instance_terminated")
