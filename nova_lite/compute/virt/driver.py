"""The interface every virt driver implements, and the loader."""
import importlib

DRIVERS = {
    "fake": "nova_lite.compute.virt.fake:FakeDriver",
    "libvirt": "nova_lite.compute.virt.libvirt.driver:LibvirtDriver",
    "sim": "nova_lite.compute.virt.sim.driver:SimDriver",
}


class ComputeDriver:
    """What the compute manager needs from a hypervisor.

    Instances are named by their uuid. Every method is idempotent: spawn of an
    existing instance and destroy of a missing one succeed without effect,
    because messages can be redelivered. Methods on a missing instance other
    than destroy raise InstanceNotFound."""

    hypervisor_type = "unknown"
    needs_image = True          # spawn() wants the image file on this host
    plugs_vifs = False          # guests get NICs on the bridges of network_info

    def host_resources(self):
        """{"vcpus", "memory_mb", "local_gb", "hypervisor_hostname",
        "hypervisor_type", "hypervisor_version", "host_ip"} of this host."""
        raise NotImplementedError

    def exists(self, instance_uuid):
        raise NotImplementedError

    def spawn(self, instance, image=None):
        """Create and start the guest described by the instance payload.

        ``image`` is a LocalImage (path on this host, disk_format) or None for
        drivers that need no disk. ``instance["network_info"]`` (a list, maybe
        empty or missing: no NIC) lists the NICs; for drivers with
        ``plugs_vifs`` the manager has plugged them (nova_lite.network.host)
        before spawn. On failure the driver leaves nothing behind (the manager
        also calls destroy to be sure)."""
        raise NotImplementedError

    def destroy(self, instance_uuid):
        """Stop the guest and remove everything it had on this host."""
        raise NotImplementedError

    def power_state(self, instance_uuid):
        """One of nova_lite.objects.states' power states (RUNNING, SHUTDOWN, ...)."""
        raise NotImplementedError

    def list_instances(self):
        """uuids of the guests this driver knows on this host."""
        raise NotImplementedError

    def power_off(self, instance_uuid, timeout=None):
        raise NotImplementedError

    def power_on(self, instance_uuid):
        raise NotImplementedError

    def reboot(self, instance_uuid, hard=False):
        raise NotImplementedError

    def pause(self, instance_uuid):
        raise NotImplementedError

    def unpause(self, instance_uuid):
        raise NotImplementedError

    def suspend(self, instance_uuid):
        raise NotImplementedError

    def resume(self, instance_uuid):
        raise NotImplementedError

    def console_output(self, instance_uuid):
        """The guest's serial console log so far (text)."""
        raise NotImplementedError

    def snapshot(self, instance_uuid, target_path):
        """Write a standalone image of the guest's root disk to ``target_path``;
        return its disk_format ("qcow2" or "raw")."""
        raise NotImplementedError


    def rebuild(self, instance, image=None):
        """Re-create the guest's root disk from ``instance["image_ref"]``
        (``image`` as for spawn), keeping its uuid, NICs and flavor; the guest
        ends running, or stopped if it was stopped."""
        raise NotImplementedError

    def resize(self, instance):
        """Give the guest the flavor in ``instance`` (vcpus, memory_mb, root_gb;
        ``instance["old_flavor"]`` is the one it has), on this host, keeping
        what revert_resize needs to go back; it ends in its power state."""
        raise NotImplementedError

    def confirm_resize(self, instance_uuid):
        """Drop what revert_resize would have needed."""
        raise NotImplementedError

    def revert_resize(self, instance):
        """Give the guest back ``instance["old_flavor"]`` (a revert, or the
        undo of a resize that failed half way)."""
        raise NotImplementedError


class InstanceNotFound(Exception):
    pass


class InvalidPowerState(Exception):
    """The guest is not in a power state the operation can start from."""


class LocalImage:
    """An image file available on this host."""

    def __init__(self, image_id, path, disk_format):
        self.image_id, self.path, self.disk_format = image_id, path, disk_format


def load(name):
    try:
        module_name, class_name = DRIVERS[name].split(":")
    except KeyError:
        raise ValueError(f"unknown virt driver {name!r}; choose one of "
                         f"{', '.join(sorted(DRIVERS))}") from None
    return getattr(importlib.import_module(module_name), class_name)()
