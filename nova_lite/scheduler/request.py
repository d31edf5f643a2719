"""What is being placed and where it could go, as plain values."""
import dataclasses

from nova_lite.db import allocations


@dataclasses.dataclass(frozen=True)
class Request:
    instance_uuid: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    availability_zone: str | None = None


@dataclasses.dataclass
class HostState:
    node_id: int
    host: str
    hypervisor_hostname: str
    vcpus: int
    vcpus_used: int
    memory_mb: int
    memory_mb_used: int
    local_gb: int
    local_gb_used: int
    cpu_allocation_ratio: float
    ram_allocation_ratio: float
    disk_allocation_ratio: float
    reserved_host_memory_mb: int
    reserved_host_disk_mb: int
    service_up: bool = True
    service_disabled: bool = False

    def __post_init__(self):
        # What the node may hold does not change while a batch is placed;
        # its usage does (the batch tracks it as it assigns instances).
        self.capacity = allocations.capacity(self)

    @property
    def free_vcpus(self):
        return self.capacity[0] - self.vcpus_used

    @property
    def free_ram_mb(self):
        return self.capacity[1] - self.memory_mb_used

    @property
    def free_disk_gb(self):
        return self.capacity[2] - self.local_gb_used
