"""The interface every virt driver implements, and the loader."""
import importlib

DRIVERS = {
    "fake": "nova_lite.compute.virt.fake:FakeDriver",
}


class ComputeDriver:
    """What the compute manager needs from a hypervisor.

    Every method is idempotent: spawn of an existing instance and destroy of a
    missing one succeed without effect, because messages can be redelivered."""

    hypervisor_type = "unknown"

    def host_resources(self):
        """{"vcpus", "memory_mb", "local_gb", "hypervisor_hostname",
        "hypervisor_type", "hypervisor_version", "host_ip"} of this host."""
        raise NotImplementedError

    def exists(self, instance_uuid):
        raise NotImplementedError

    def spawn(self, instance):
        """Create and start the guest described by the instance payload."""
        raise NotImplementedError

    def destroy(self, instance_uuid):
        """Stop the guest and remove everything it had on this host."""
        raise NotImplementedError

    def power_state(self, instance_uuid):
        raise NotImplementedError

    def list_instances(self):
        raise NotImplementedError


def load(name):
    try:
        module_name, class_name = DRIVERS[name].split(":")
    except KeyError:
        raise ValueError(f"unknown virt driver {name!r}; choose one of "
                         f"{', '.join(sorted(DRIVERS))}") from None
    return getattr(importlib.import_module(module_name), class_name)()
