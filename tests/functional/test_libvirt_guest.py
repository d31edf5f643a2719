"""Real guests: the libvirt driver boots devstack/tools/build-image.sh's tiny
image under QEMU (TCG here; KVM where it really works) through qemu:///system.

Needs root and the Debian packages libvirt-daemon-system, qemu-system-x86,
qemu-utils, genisoimage (and what build-image.sh installs itself). A libvirtd
is started for the test if none answers, and stopped again afterwards.
No PostgreSQL or RabbitMQ: the driver never touches them.

The tests run in file order on one module-scoped guest.
"""
import os
import time

import pytest

from nova_lite.compute.virt.driver import LocalImage
from nova_lite.objects import states
from tests.fixtures.libvirtd import BOOT_SECONDS, instance
from tests.fixtures.waiting import wait_for

pytestmark = pytest.mark.timeout(900)


def banners(drv, inst):
    return drv.console_output(inst["uuid"]).count(f"nova-lite guest {inst['name']} booted")


def wait_for_banner(drv, inst, count=1):
    wait_for(lambda: banners(drv, inst) >= count, bool, BOOT_SECONDS,
             what=f"boot banner #{count} of {inst['name']}")


@pytest.fixture(scope="module")
def guest(drv, tiny_image):
    inst = instance("guest-one")
    started = time.monotonic()
    drv.spawn(inst, tiny_image)
    inst["spawn_seconds"] = time.monotonic() - started
    yield inst
    drv.destroy(inst["uuid"])


def test_spawn_boots_to_the_banner_with_the_config_drive(drv, guest):
    assert drv.power_state(guest["uuid"]) == states.RUNNING
    assert drv.list_instances() == [guest["uuid"]]
    started = time.monotonic()
    wait_for_banner(drv, guest)
    print(f"spawn {guest['spawn_seconds']:.1f} s, then banner after "
          f"{time.monotonic() - started:.1f} s")
    wait_for(lambda: "user-data:" in drv.console_output(guest["uuid"]), bool, 10,
             what="user data line")
    output = drv.console_output(guest["uuid"])
    assert "config-drive: guest-one" in output
    assert "user-data: hello from guest-one" in output
    # What it booted from is readable by QEMU's user alone: the disk and the
    # config drive (user data) 0600, the instance directory 0750.
    from nova_lite.compute.virt.libvirt import disks
    uid, gid = disks.qemu_owner()
    directory = disks.instance_dir(guest["uuid"])
    found = os.stat(directory)
    assert (found.st_mode & 0o777, found.st_uid, found.st_gid) == (0o750, 0, gid)
    for name in ("disk", "disk.config", "console.log"):
        found = os.stat(os.path.join(directory, name))
        assert (found.st_mode & 0o777, found.st_uid, found.st_gid) == (0o600, uid, gid), name


def test_power_off_is_graceful_and_power_on_boots_again(drv, guest):
    wait_for(lambda: "nova-lite guest ready" in drv.console_output(guest["uuid"]), bool,
             BOOT_SECONDS, what="the guest to be ready")
    drv.power_off(guest["uuid"])
    assert drv.power_state(guest["uuid"]) == states.SHUTDOWN
    assert "ACPI power button, powering off" in drv.console_output(guest["uuid"])
    drv.power_on(guest["uuid"])
    assert drv.power_state(guest["uuid"]) == states.RUNNING
    wait_for_banner(drv, guest, 2)


def test_hard_reboot_boots_again(drv, guest):
    before = banners(drv, guest)
    drv.reboot(guest["uuid"], hard=True)
    assert drv.power_state(guest["uuid"]) == states.RUNNING
    wait_for_banner(drv, guest, before + 1)


def test_pause_and_unpause(drv, guest):
    drv.pause(guest["uuid"])
    assert drv.power_state(guest["uuid"]) == states.PAUSED_POWER
    drv.unpause(guest["uuid"])
    assert drv.power_state(guest["uuid"]) == states.RUNNING


def test_suspend_and_resume_keep_the_guest_running_state(drv, guest):
    before = banners(drv, guest)
    drv.suspend(guest["uuid"])
    assert drv.power_state(guest["uuid"]) == states.SHUTDOWN
    drv.resume(guest["uuid"])
    assert drv.power_state(guest["uuid"]) == states.RUNNING
    time.sleep(3)
    assert banners(drv, guest) == before        # restored, not rebooted


def test_snapshot_boots_a_second_guest_and_destroy_cleans_up(drv, guest, state_path):
    target = os.path.join(state_path, "images", "_base", "snap-1")
    assert drv.snapshot(guest["uuid"], target) == "qcow2"
    assert drv.power_state(guest["uuid"]) == states.RUNNING
    second = instance("guest-two")
    drv.spawn(second, LocalImage("snap-1", target, "qcow2"))
    wait_for_banner(drv, second)
    assert sorted(drv.list_instances()) == sorted([guest["uuid"], second["uuid"]])

    for inst in (guest, second):
        drv.destroy(inst["uuid"])
        drv.destroy(inst["uuid"])
    assert drv.list_instances() == []
    import libvirt
    names = [dom.name() for dom in libvirt.open("qemu:///system").listAllDomains()]
    assert not [name for name in names if guest["uuid"] in name or second["uuid"] in name]
    assert os.listdir(os.path.join(state_path, "instances")) == []


def test_corrupt_image_fails_and_leaves_nothing(drv, state_path):
    bad = os.path.join(state_path, "corrupt.qcow2")
    with open(bad, "wb") as handle:
        handle.write(os.urandom(1024 * 1024))
    inst = instance("corrupt")
    with pytest.raises(Exception, match="labelled qcow2 but its content is raw"):
        drv.spawn(inst, LocalImage("corrupt", bad, "qcow2"))
    assert not drv.exists(inst["uuid"])
    assert not os.path.exists(os.path.join(state_path, "instances", inst["uuid"]))


def test_failure_to_start_the_domain_leaves_nothing(drv, tiny_image, state_path):
    import libvirt
    inst = instance("no-bridge")
    inst["network_info"] = [{"port_id": "0b7ae1a4-3c64", "mac": "fa:16:3e:00:00:01",
                             "bridge": "nl-no-such-br", "tap": "tap0b7ae1a4-3c"}]
    with pytest.raises(libvirt.libvirtError):
        drv.spawn(inst, tiny_image)
    assert not drv.exists(inst["uuid"])
    names = [dom.name() for dom in libvirt.open("qemu:///system").listAllDomains()]
    assert f"nova-lite-{inst['uuid']}" not in names
    assert not os.path.exists(os.path.join(state_path, "instances", inst["uuid"]))


def test_virt_type_probe_guest_really_boots_a_kernel(libvirtd):
    from nova_lite.compute.virt.libvirt import virt_type
    kernel = virt_type.probe_kernel()
    if kernel is None:
        pytest.skip("no /boot/vmlinuz-* (Debian package linux-image-amd64)")
    assert virt_type.probe_guest_runs("tcg", kernel, timeout=60)
    assert not virt_type.probe_guest_runs("tcg", kernel, timeout=0.5)   # time-boxed
