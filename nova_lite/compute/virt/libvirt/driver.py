"""LibvirtDriver: the ComputeDriver interface on libvirt (QEMU/KVM guests).

Every method looks the domain up by name on each call (no state kept here
besides the connection), so a restarted compute service sees its guests.
Operations are idempotent: each one that finds the guest already in the
wanted state returns without effect.
"""
import logging
import os
import shutil
import time

from nova_lite.compute.virt import driver
from nova_lite.compute.virt.libvirt import (
    console,
    disks,
    domain_xml,
    guest,
    host,
    power,
    snapshot,
    virt_type,
)
from nova_lite.compute.virt.libvirt.connection import Connection, require_libvirt
from nova_lite.conf import CONF

LOG = logging.getLogger(__name__)
POLL_SECONDS = 0.5
RUNNING = (power.RUNNING, power.BLOCKED)      # libvirt states
PAUSED = (power.PAUSED,)
RESIZE_BACKUP = ".pre-resize"     # the root disk as it was, until confirm or revert


class LibvirtDriver(driver.ComputeDriver):
    hypervisor_type = host.HYPERVISOR_TYPE
    plugs_vifs = True

    def __init__(self, uri=None):
        self._connection = Connection(uri)

    @property
    def _conn(self):
        return self._connection.get()

    def _domain(self, instance_uuid):
        dom = guest.lookup(self._conn, instance_uuid)
        if dom is None:
            raise driver.InstanceNotFound(f"instance {instance_uuid} is not on this host")
        return dom

    # -- the host ------------------------------------------------------------

    def host_resources(self):
        return host.resources(self._conn)

    def exists(self, instance_uuid):
        return guest.lookup(self._conn, instance_uuid) is not None

    def list_instances(self):
        return guest.instance_uuids(self._conn)

    # -- lifecycle -------------------------------------------------------------

    def spawn(self, instance, image=None):
        uuid = instance["uuid"]
        if self.exists(uuid):
            return
        if image is None:
            raise ValueError("the libvirt driver boots from an image: spawn needs a LocalImage")
        started = time.monotonic()
        try:
            directory = disks.make_instance_dir(uuid)
            root = disks.create_root_disk(image, directory, instance.get("root_gb") or 0)
            drive = disks.create_config_drive(instance, directory)
            xml = domain_xml.build(instance, virt_type.detect(), root, drive,
                                   disks.create_console_log(directory))
            dom = self._conn.defineXML(xml)
            dom.create()
        except BaseException:
            try:
                self._remove(uuid)
            except Exception:  # the spawn error is the one to raise
                LOG.exception("cleanup after the failed spawn of %s failed", uuid)
            raise
        LOG.info("spawned %s in %.1f s", uuid, time.monotonic() - started)

    def destroy(self, instance_uuid):
        self._remove(instance_uuid)

    def _remove(self, instance_uuid):
        """Stop and undefine the domain (with its managed save) and remove the
        instance directory: disks, config drive, console log."""
        lv = require_libvirt()
        dom = guest.lookup(self._conn, instance_uuid)
        if dom is not None:
            with guest.tolerate("VIR_ERR_OPERATION_INVALID", "VIR_ERR_NO_DOMAIN"):
                dom.destroy()
            with guest.tolerate("VIR_ERR_NO_DOMAIN"):
                dom.undefineFlags(lv.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                                  | lv.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
        disks.remove_instance_dir(instance_uuid)

    def power_state(self, instance_uuid):
        return power.power_state(self._domain(instance_uuid).state()[0])

    # -- power -----------------------------------------------------------------

    def power_off(self, instance_uuid, timeout=None):
        """ACPI shutdown, forced off after ``timeout`` seconds ([libvirt]
        graceful_shutdown_timeout by default; 0 forces at once). Saved memory of a
        suspended guest is discarded: the next power_on boots afresh."""
        dom = self._domain(instance_uuid)
        if timeout is None:
            timeout = CONF.libvirt.graceful_shutdown_timeout
        if dom.isActive():
            self._shut_down(dom, timeout)
        self._discard_saved_memory(dom)

    def power_on(self, instance_uuid):
        dom = self._domain(instance_uuid)
        if dom.isActive():
            _require(dom, "power on", RUNNING)
        else:
            dom.create()

    def reboot(self, instance_uuid, hard=False):
        """Soft: ACPI shutdown then start, hard if the guest does not stop within
        graceful_shutdown_timeout or is not running. Hard: power cycle, dropping
        any saved memory."""
        dom = self._domain(instance_uuid)
        if not hard and _state(dom) in RUNNING:
            self._shut_down(dom, CONF.libvirt.graceful_shutdown_timeout)
        else:
            with guest.tolerate("VIR_ERR_OPERATION_INVALID"):
                dom.destroy()
            self._discard_saved_memory(dom)
        dom.create()

    def _shut_down(self, dom, timeout):
        """Ask the guest to shut down (ACPI); force it off after ``timeout`` s."""
        if timeout and _state(dom) in RUNNING:
            with guest.tolerate("VIR_ERR_OPERATION_INVALID"):
                dom.shutdown()
            deadline = time.monotonic() + timeout
            while dom.isActive() and time.monotonic() < deadline:
                time.sleep(POLL_SECONDS)
            if not dom.isActive():
                return
            LOG.warning("%s did not shut down within %s s; forcing it off", dom.name(),
                        timeout)
        with guest.tolerate("VIR_ERR_OPERATION_INVALID"):
            dom.destroy()

    @staticmethod
    def _discard_saved_memory(dom):
        if dom.hasManagedSaveImage(0):
            dom.managedSaveRemove(0)

    def pause(self, instance_uuid):
        dom = self._domain(instance_uuid)
        if _require(dom, "pause", RUNNING + PAUSED) in RUNNING:
            dom.suspend()

    def unpause(self, instance_uuid):
        dom = self._domain(instance_uuid)
        if _require(dom, "unpause", RUNNING + PAUSED) in PAUSED:
            dom.resume()

    def suspend(self, instance_uuid):
        """Save the guest's memory to disk and stop it (libvirt managed save);
        resume brings it back running."""
        dom = self._domain(instance_uuid)
        if not _suspended(dom):
            _require(dom, "suspend", RUNNING + PAUSED)
            dom.managedSave(require_libvirt().VIR_DOMAIN_SAVE_RUNNING)

    def resume(self, instance_uuid):
        """Start a suspended guest from its saved memory."""
        dom = self._domain(instance_uuid)
        if _suspended(dom):
            dom.create()
        else:
            _require(dom, "resume", RUNNING)

    # -- rebuild and resize (on this host) ---------------------------------------

    def rebuild(self, instance, image=None):
        """A new root disk from ``image`` and a new config drive (name,
        metadata, password); the domain redefined and, unless it was stopped,
        started again."""
        uuid = instance["uuid"]
        dom = self._domain(uuid)
        if image is None:
            raise ValueError("the libvirt driver rebuilds from an image: it needs a "
                             "LocalImage")
        was_running = dom.isActive()
        with guest.tolerate("VIR_ERR_OPERATION_INVALID"):
            dom.destroy()
        self._discard_saved_memory(dom)
        directory = disks.instance_dir(uuid)
        root = os.path.join(directory, disks.ROOT_DISK)
        # As Nova's: the old disk goes first (a failure here leaves the server
        # in ERROR, to be rebuilt again or deleted).
        for old in (root, root + RESIZE_BACKUP):
            if os.path.exists(old):
                os.unlink(old)
        disks.create_root_disk(image, directory, instance.get("root_gb") or 0)
        self._redefine(instance, directory, was_running, new_drive=True)

    def resize(self, instance):
        """The new vCPUs and memory in the stopped domain's definition, the root
        disk grown (qemu-img) to the new root_gb; the old disk is kept until
        the resize is confirmed or reverted."""
        uuid = instance["uuid"]
        dom = self._domain(uuid)
        was_running = dom.isActive()
        if was_running:
            self._shut_down(dom, CONF.libvirt.graceful_shutdown_timeout)
        self._discard_saved_memory(dom)
        directory = disks.instance_dir(uuid)
        root = os.path.join(directory, disks.ROOT_DISK)
        backup = root + RESIZE_BACKUP
        if not os.path.exists(backup):
            shutil.copy2(root, backup)
        disks.grow(root, instance.get("root_gb") or 0)
        self._redefine(instance, directory, was_running)

    def confirm_resize(self, instance_uuid):
        self._domain(instance_uuid)
        backup = os.path.join(disks.instance_dir(instance_uuid), disks.ROOT_DISK) \
            + RESIZE_BACKUP
        if os.path.exists(backup):
            os.unlink(backup)

    def revert_resize(self, instance):
        """The old disk back, the old vCPUs and memory in the definition."""
        uuid = instance["uuid"]
        dom = self._domain(uuid)
        was_running = dom.isActive()
        if was_running:
            self._shut_down(dom, CONF.libvirt.graceful_shutdown_timeout)
        self._discard_saved_memory(dom)
        directory = disks.instance_dir(uuid)
        root = os.path.join(directory, disks.ROOT_DISK)
        if os.path.exists(root + RESIZE_BACKUP):
            os.replace(root + RESIZE_BACKUP, root)
        old = instance.get("old_flavor") or {}
        self._redefine({**instance, **{k: old[k] for k in ("vcpus", "memory_mb", "root_gb")
                                       if k in old}}, directory, was_running)

    def _redefine(self, instance, directory, start, new_drive=False):
        drive = os.path.join(directory, disks.CONFIG_DRIVE)
        if new_drive:
            drive = disks.create_config_drive(instance, directory)
        xml = domain_xml.build(instance, virt_type.detect(),
                               os.path.join(directory, disks.ROOT_DISK), drive,
                               disks.create_console_log(directory))
        dom = self._conn.defineXML(xml)
        if start:
            dom.create()

    # -- data ------------------------------------------------------------------

    def console_output(self, instance_uuid):
        self._domain(instance_uuid)
        return console.read(console.log_path(disks.instance_dir(instance_uuid)))

    def snapshot(self, instance_uuid, target_path):
        dom = self._domain(instance_uuid)
        root = os.path.join(disks.instance_dir(instance_uuid), disks.ROOT_DISK)
        return snapshot.snapshot(dom, root, target_path)


def _state(dom):
    return dom.state()[0]


def _suspended(dom):
    return not dom.isActive() and dom.hasManagedSaveImage(0)


def _require(dom, action, allowed):
    """The domain's libvirt state, or InvalidPowerState if not in ``allowed``."""
    state = _state(dom)
    if state not in allowed:
        what = "suspended" if _suspended(dom) else power.describe(state)
        raise driver.InvalidPowerState(f"cannot {action} {dom.name()}: it is {what}")
    return state
