"""What is being placed and where it could go, as plain values."""
import dataclasses


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

    @property
    def free_vcpus(self):
        return self.vcpus * self.cpu_allocation_ratio - self.vcpus_used

    @property
    def free_ram_mb(self):
        return (self.memory_mb * self.ram_allocation_ratio - self.reserved_host_memory_mb
                - self.memory_mb_used)

    @property
    def free_disk_gb(self):
        return (self.local_gb * self.disk_allocation_ratio
                - self.reserved_host_disk_mb / 1024.0 - self.local_gb_used)
