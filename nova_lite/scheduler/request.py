"""What is being placed and where it could go, as plain values."""
import dataclasses

from nova_lite.db import allocations


@dataclasses.dataclass(frozen=True)
class Request:
    """One instance to place: its flavor's resources and what it asked of
    the scheduler (its server group as the batch sees it, its hints, a host
    an admin forced)."""
    instance_uuid: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    availability_zone: str | None = None
    group: object = None                    # db.server_groups.GroupState
    same_host: frozenset | None = None      # hosts of the same_host servers
    different_host: frozenset = frozenset()
    near: object = None                     # ipaddress network (build_near_host_ip)
    force_host: str | None = None
    force_node: str | None = None

    def required_hosts(self):
        """The only hosts this request may go to (forced, its affinity
        group's, the same_host servers'), or None: any. The candidate query
        reads only these, so a sample of the fleet cannot miss them."""
        required = None
        for hosts in (
                {self.force_host} if self.force_host else None,
                frozenset(self.group.hosts) if self.group is not None
                and self.group.policy == "affinity" and self.group.hosts else None,
                self.same_host):
            if hosts is not None:
                required = frozenset(hosts) if required is None else required & hosts
        return required


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
    host_ip: str | None = None

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
