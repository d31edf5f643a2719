"""LibvirtDriver against libvirt's in-process test driver (test:///default):
no daemon and no QEMU, but real disks (qemu-img) and config drives."""
import os
import subprocess
import uuid

import pytest

from nova_lite.compute.virt import driver as driver_mod
from nova_lite.compute.virt.driver import (
    InstanceNotFound,
    InvalidPowerState,
    LocalImage,
)
from nova_lite.compute.virt.libvirt import disks, domain_xml
from nova_lite.objects import states
from tests.fixtures.libvirtd import conf_overrides

libvirt = pytest.importorskip("libvirt", reason="pip install libvirt-python (needs the "
                                                "Debian packages libvirt-dev, pkg-config)")

TEST_URI = "test:///default"


@pytest.fixture
def drv(tmp_path):
    from nova_lite.compute.virt.libvirt.driver import LibvirtDriver
    values = {(None, "state_path"): str(tmp_path / "state"),
              ("libvirt", "connection_uri"): TEST_URI,
              ("libvirt", "virt_type"): "qemu",
              ("libvirt", "graceful_shutdown_timeout"): 2}
    with conf_overrides(values):
        driver = LibvirtDriver()
        yield driver
        for instance_uuid in driver.list_instances():
            driver.destroy(instance_uuid)


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "base.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "64M"], check=True)
    return LocalImage("img-1", str(path), "qcow2")


def instance(**extra):
    return dict({"uuid": str(uuid.uuid4()), "name": "vm", "instance_name": "instance-1",
                 "vcpus": 1, "memory_mb": 128, "root_gb": 1, "ephemeral_gb": 0,
                 "metadata": {}, "user_data": None, "project_id": "p"}, **extra)


def conn():
    return libvirt.open(TEST_URI)


def test_loaded_by_name():
    from nova_lite.compute.virt.libvirt.driver import LibvirtDriver
    assert driver_mod.DRIVERS["libvirt"].endswith(":LibvirtDriver")
    assert isinstance(driver_mod.load("libvirt"), LibvirtDriver)


def test_spawn_defines_and_starts_the_domain(drv, image):
    inst = instance()
    drv.spawn(inst, image)
    dom = conn().lookupByName(f"nova-lite-{inst['uuid']}")
    assert dom.UUIDString() == inst["uuid"]
    assert dom.isActive()
    assert drv.exists(inst["uuid"])
    assert drv.power_state(inst["uuid"]) == states.RUNNING
    assert drv.list_instances() == [inst["uuid"]]
    directory = disks.instance_dir(inst["uuid"])
    assert sorted(os.listdir(directory)) == ["console.log", "disk", "disk.config"]
    assert f"{directory}/disk" in dom.XMLDesc()


def test_root_disk_is_an_overlay_grown_to_root_gb(drv, image):
    inst = instance(root_gb=2)
    drv.spawn(inst, image)
    info = subprocess.run(["qemu-img", "info", "-U", "--output=json",
                           os.path.join(disks.instance_dir(inst["uuid"]), "disk")],
                          capture_output=True, text=True, check=True).stdout
    assert f'"backing-filename": "{image.path}"' in info
    assert f'"virtual-size": {2 * 1024 ** 3}' in info


def test_spawn_twice_is_one_guest(drv, image):
    inst = instance()
    drv.spawn(inst, image)
    drv.spawn(inst, image)
    assert drv.list_instances() == [inst["uuid"]]


def test_destroy_removes_everything_and_twice_is_fine(drv, image):
    inst = instance()
    drv.spawn(inst, image)
    drv.suspend(inst["uuid"])                 # a managed save image to remove too
    drv.destroy(inst["uuid"])
    drv.destroy(inst["uuid"])
    assert not drv.exists(inst["uuid"])
    assert f"nova-lite-{inst['uuid']}" not in [d.name() for d in conn().listAllDomains()]
    assert not os.path.exists(disks.instance_dir(inst["uuid"]))


def test_failed_spawn_leaves_nothing(drv, tmp_path):
    bad = tmp_path / "bad.qcow2"
    bad.write_bytes(os.urandom(65536))
    inst = instance()
    with pytest.raises(disks.ImageUnacceptable, match="labelled qcow2 but its content is raw"):
        drv.spawn(inst, LocalImage("bad", str(bad), "qcow2"))
    assert not drv.exists(inst["uuid"])
    assert not os.path.exists(disks.instance_dir(inst["uuid"]))


def test_spawn_needs_an_image(drv):
    with pytest.raises(ValueError, match="needs a LocalImage"):
        drv.spawn(instance(), None)


def test_other_domains_are_not_ours(drv, image):
    c = conn()
    foreign_uuid = str(uuid.uuid4())
    xml = domain_xml.build(instance(uuid=foreign_uuid), "qemu", "/nonexistent/disk",
                           "/nonexistent/disk.config", "/nonexistent/console.log")
    unmarked = xml.replace(domain_xml.METADATA_NS, "http://example.invalid/other")
    c.defineXML(unmarked)
    try:
        assert "test" in [d.name() for d in c.listAllDomains()]
        assert drv.list_instances() == []
        assert not drv.exists(foreign_uuid)
        drv.destroy(foreign_uuid)
        assert c.lookupByName(f"nova-lite-{foreign_uuid}")
        with pytest.raises(InstanceNotFound):
            drv.power_state(foreign_uuid)
    finally:
        c.lookupByName(f"nova-lite-{foreign_uuid}").undefine()


@pytest.mark.parametrize("method,args", [
    ("power_state", ()), ("power_off", ()), ("power_on", ()), ("reboot", ()),
    ("pause", ()), ("unpause", ()), ("suspend", ()), ("resume", ()),
    ("console_output", ()), ("snapshot", ("/tmp/never",)),
])
def test_missing_instance_raises_not_found(drv, method, args):
    with pytest.raises(InstanceNotFound):
        getattr(drv, method)(str(uuid.uuid4()), *args)


def test_power_off_and_on(drv, image):
    inst = instance()
    drv.spawn(inst, image)
    drv.power_off(inst["uuid"])
    assert drv.power_state(inst["uuid"]) == states.SHUTDOWN
    drv.power_off(inst["uuid"], timeout=0)
    drv.power_on(inst["uuid"])
    drv.power_on(inst["uuid"])
    assert drv.power_state(inst["uuid"]) == states.RUNNING


def test_power_off_with_zero_timeout_forces(drv, image):
    inst = instance()
    drv.spawn(inst, image)
    drv.power_off(inst["uuid"], timeout=0)
    assert drv.power_state(inst["uuid"]) == states.SHUTDOWN


def test_pause_unpause(drv, image):
    inst = instance()
    drv.spawn(inst, image)
    drv.pause(inst["uuid"])
    drv.pause(inst["uuid"])
    assert drv.power_state(inst["uuid"]) == states.PAUSED_POWER
    drv.unpause(inst["uuid"])
    drv.unpause(inst["uuid"])
    assert drv.power_state(inst["uuid"]) == states.RUNNING


def test_suspend_resume_uses_managed_save(drv, image):
    inst = instance()
    drv.spawn(inst, image)
    drv.suspend(inst["uuid"])
    drv.suspend(inst["uuid"])
    dom = conn().lookupByName(f"nova-lite-{inst['uuid']}")
    assert dom.hasManagedSaveImage(0)
    assert drv.power_state(inst["uuid"]) == states.SHUTDOWN
    drv.resume(inst["uuid"])
    assert drv.power_state(inst["uuid"]) == states.RUNNING
    assert not dom.hasManagedSaveImage(0)


def test_power_off_of_a_suspended_guest_drops_its_memory(drv, image):
    inst = instance()
    drv.spawn(inst, image)
    drv.suspend(inst["uuid"])
    drv.power_off(inst["uuid"])
    assert not conn().lookupByName(f"nova-lite-{inst['uuid']}").hasManagedSaveImage(0)


@pytest.mark.parametrize("hard", [False, True])
def test_reboot_leaves_it_running(drv, image, hard):
    inst = instance()
    drv.spawn(inst, image)
    drv.reboot(inst["uuid"], hard=hard)
    assert drv.power_state(inst["uuid"]) == states.RUNNING
    drv.power_off(inst["uuid"])
    drv.reboot(inst["uuid"], hard=hard)         # a stopped guest boots
    assert drv.power_state(inst["uuid"]) == states.RUNNING


def test_console_output_reads_the_log(drv, image):
    inst = instance()
    drv.spawn(inst, image)
    assert drv.console_output(inst["uuid"]) == ""
    log = os.path.join(disks.instance_dir(inst["uuid"]), "console.log")
    with open(log, "wb") as handle:
        handle.write(b"nova-lite guest vm booted\n\xff\n")
    assert drv.console_output(inst["uuid"]).startswith("nova-lite guest vm booted\n")


def test_snapshot_is_a_standalone_qcow2_and_the_guest_keeps_running(drv, image, tmp_path):
    inst = instance()
    drv.spawn(inst, image)
    target = tmp_path / "snap.qcow2"
    assert drv.snapshot(inst["uuid"], str(target)) == "qcow2"
    info = subprocess.run(["qemu-img", "info", "--output=json", str(target)],
                          capture_output=True, text=True, check=True).stdout
    assert '"format": "qcow2"' in info
    assert "backing-filename" not in info
    assert not os.path.exists(f"{target}.part")
    assert drv.power_state(inst["uuid"]) == states.RUNNING


def test_host_resources(drv):
    info = conn().getInfo()
    resources = drv.host_resources()
    assert resources["vcpus"] == info[2]
    assert resources["memory_mb"] == info[1]
    assert resources["local_gb"] > 0
    assert resources["hypervisor_type"] == "QEMU"
    assert resources["hypervisor_version"] == conn().getVersion()
    assert resources["host_ip"]
    assert set(resources) == {"vcpus", "memory_mb", "local_gb", "hypervisor_hostname",
                              "hypervisor_type", "hypervisor_version", "host_ip"}


@pytest.mark.parametrize("setup,method", [
    ("power_off", "pause"), ("power_off", "unpause"), ("power_off", "suspend"),
    ("power_off", "resume"), ("pause", "power_on"), ("pause", "resume"),
    ("suspend", "pause"), ("suspend", "unpause"),
])
def test_actions_from_the_wrong_power_state_are_refused(drv, image, setup, method):
    inst = instance()
    drv.spawn(inst, image)
    getattr(drv, setup)(inst["uuid"])
    before = drv.power_state(inst["uuid"])
    with pytest.raises(InvalidPowerState, match=f"cannot {method.replace('_', ' ')}"):
        getattr(drv, method)(inst["uuid"])
    assert drv.power_state(inst["uuid"]) == before


def test_a_paused_guest_suspended_resumes_running(drv, image):
    inst = instance()
    drv.spawn(inst, image)
    drv.pause(inst["uuid"])
    drv.suspend(inst["uuid"])
    drv.resume(inst["uuid"])
    drv.resume(inst["uuid"])
    assert drv.power_state(inst["uuid"]) == states.RUNNING



def test_another_compute_service_on_the_same_libvirtd_never_claims_our_guests(drv, image):
    inst = instance()
    with conf_overrides({(None, "host"): "host-a"}):
        drv.spawn(inst, image)
        assert drv.list_instances() == [inst["uuid"]]
    with conf_overrides({(None, "host"): "host-b"}):
        assert drv.list_instances() == []
        assert not drv.exists(inst["uuid"])
        drv.destroy(inst["uuid"])                      # not ours: left alone
    assert conn().lookupByName(f"nova-lite-{inst['uuid']}").isActive()
    with conf_overrides({(None, "host"): "host-a"}):
        assert drv.exists(inst["uuid"])
        drv.destroy(inst["uuid"])
