"""The compute manager wires networking around the driver: plug before spawn,
unplug after destroy (failed spawn, terminate), refresh_network, restore at
start, the members of remote groups asked for and applied; only for drivers
that plug vifs and with [network] enabled. The data
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
    """Records each call; answers what ``returns`` says for its name."""

    def __init__(self, calls, returns):
        self.calls, self.returns = calls, returns

    def __getattr__(self, name):
        def call(*args):
            self.calls.append((name, *args))
            return self.returns.get(name)
        return call


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
def returns():
    return {}


@pytest.fixture
def calls(monkeypatch, returns):
    recorded = []
    monkeypatch.setattr(manager_mod, "network_host", Recorder(recorded, returns))
    monkeypatch.setattr(manager_mod.casts, "send",
                        lambda message, context=None: recorded.append(
                            ("cast", message.method, message.args)))
    with conf_overrides({("network", "enabled"): True}):
        yield recorded


def instance(**metadata):
    return {"uuid": str(uuid.uuid4()), "name": "vm", "metadata": metadata,
            "network_info": [VIF]}


def test_restore_at_start_then_plug_before_spawn(calls):
    manager = manager_mod.ComputeManager(driver=VifDriver(calls), host="h1")
    inst = instance()
    manager.build_and_run_instance({}, inst)
    assert [c[:3] if c[0] == "cast" else c for c in calls] == [
        ("restore",), ("remote_groups",), ("plug", inst["uuid"], [VIF]),
        ("missing_groups",), ("spawn", inst["uuid"], [VIF]), ("cast", "instance_spawned",
                                                              calls[-1][2])]
    assert calls[-1][1] == "instance_spawned"


def test_groups_named_here_are_asked_for_at_start_and_when_missing(calls, returns):
    returns.update(remote_groups={"g1", "g2"}, missing_groups={"g3"})
    manager = manager_mod.ComputeManager(driver=VifDriver(calls), host="h1")
    manager.build_and_run_instance({}, instance())
    manager.refresh_network({}, {"u1": [VIF]})
    asked = [c[2] for c in calls if c[:2] == ("cast", "security_group_members_wanted")]
    assert asked == [{"host": "h1", "security_group_ids": ["g1", "g2"]},
                     {"host": "h1", "security_group_ids": ["g3"]},
                     {"host": "h1", "security_group_ids": ["g3"]}]


def test_members_are_applied_and_groups_named_nowhere_are_refused(calls, returns):
    returns.update(update_members=["g9"])
    manager = manager_mod.ComputeManager(driver=VifDriver(calls), host="h1")
    assert "update_security_group_members" in manager.RPC_METHODS
    manager.update_security_group_members({}, 7, {"g1": {"add": ["10.0.0.5"]}},
                                          {"g9": ["10.0.0.6"]})
    assert calls[-2] == ("update_members", 7, {"g1": {"add": ["10.0.0.5"]}},
                         {"g9": ["10.0.0.6"]})
    assert calls[-1] == ("cast", "security_group_members_unwanted",
                         {"host": "h1", "security_group_ids": ["g9"]})


def test_a_failed_spawn_is_unplugged_after_destroy(calls):
    manager = manager_mod.ComputeManager(driver=VifDriver(calls), host="h1")
    inst = instance(**{FAIL_KEY: "boom"})
    manager.build_and_run_instance({}, inst)
    assert [c[:2] for c in calls[-3:]] == [("destroy", inst["uuid"]),
                                           ("unplug", inst["uuid"]),
                                           ("cast", "instance_spawn_failed")]


def test_terminate_unplugs_after_destroy(calls):
    manager = manager_mod.ComputeManager(driver=VifDriver(calls), host="h1")
    manager.terminate_instance({}, "u1")
    assert [c[:2] for c in calls[-3:]] == [("destroy", "u1"), ("unplug", "u1"),
                                           ("cast", "instance_terminated")]


def test_refresh_network(calls):
    manager = manager_mod.ComputeManager(driver=VifDriver(calls), host="h1")
    assert "refresh_network" in manager.RPC_METHODS
    manager.refresh_network({}, {"u1": [VIF]})
    assert calls[-2:] == [("refresh", {"u1": [VIF]}), ("missing_groups",)]


@pytest.mark.parametrize("enabled,driver_cls", [(False, VifDriver), (True, None)])
def test_no_networking_when_disabled_or_for_drivers_without_nics(calls, enabled, driver_cls):
    driver = driver_cls(calls) if driver_cls else FakeDriver()
    with conf_overrides({("network", "enabled"): enabled}):
        manager = manager_mod.ComputeManager(driver=driver, host="h1")
        inst = instance()
        manager.build_and_run_instance({}, inst)
        manager.refresh_network({}, {inst["uuid"]: [VIF]})
        manager.update_security_group_members({}, 1, {"g1": {"add": ["10.0.0.5"]}}, {})
        manager.terminate_instance({}, inst["uuid"])
    assert not [c for c in calls if c[0] in ("restore", "plug", "unplug", "refresh",
                                             "update_members", "remote_groups",
                                             "missing_groups")]
    assert not [c for c in calls if c[:2] == ("cast", "security_group_members_unwanted")]


def test_an_unplug_failure_does_not_stop_the_terminate(calls, monkeypatch):
    def fail(_uuid):
        raise RuntimeError("nft failed")
    manager = manager_mod.ComputeManager(driver=VifDriver(calls), host="h1")
    monkeypatch.setattr(manager_mod.network_host.__class__, "unplug", staticmethod(fail),
                        raising=False)
    manager.terminate_instance({}, "u1")
    assert calls[-1][:2] == ("cast", "instance_terminated")
