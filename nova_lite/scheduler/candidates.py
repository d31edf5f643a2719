"""Stage 1: the candidate hosts, from one indexed SQL query with a limit."""
from sqlalchemy import and_, select

from nova_lite.conf import CONF
from nova_lite.db import allocations, models, services
from nova_lite.scheduler.request import HostState

N = models.ComputeNode
S = models.Service


def query(session, request, limit=None):
    """Nodes that are up, enabled and have room for ``request``, most free RAM first."""
    free_ram = N.memory_mb * N.ram_allocation_ratio - N.reserved_host_memory_mb \
        - N.memory_mb_used
    stmt = (
        select(N, S.disabled)
        .join(S, and_(S.host == N.host, S.binary == "nova-lite-compute"))
        .where(S.disabled.is_(False), S.forced_down.is_(False),
               S.last_seen_up >= services.up_since(),
               *allocations.fits(request.vcpus, request.memory_mb, request.disk_gb))
        .order_by(free_ram.desc(), N.id)
        .limit(limit or CONF.scheduler.max_candidates)
    )
    hosts = []
    for node, disabled in session.execute(stmt):
        hosts.append(HostState(
            node_id=node.id, host=node.host, hypervisor_hostname=node.hypervisor_hostname,
            vcpus=node.vcpus, vcpus_used=node.vcpus_used, memory_mb=node.memory_mb,
            memory_mb_used=node.memory_mb_used, local_gb=node.local_gb,
            local_gb_used=node.local_gb_used, cpu_allocation_ratio=node.cpu_allocation_ratio,
            ram_allocation_ratio=node.ram_allocation_ratio,
            disk_allocation_ratio=node.disk_allocation_ratio,
            reserved_host_memory_mb=node.reserved_host_memory_mb,
            reserved_host_disk_mb=node.reserved_host_disk_mb,
            service_up=True, service_disabled=disabled))
    return hosts
