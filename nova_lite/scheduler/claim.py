"""Stage 4: the claim. One transaction: the node's usage grows only if the
request still fits, the Allocation row is written, and the instance moves
from scheduling to spawning on that host. Any step failing rolls back all."""
from nova_lite.db import allocations, instances
from nova_lite.objects import states


class LostRace(Exception):
    """The host filled up, or the instance changed, since the candidates were read."""


def claim(session, host, request):
    """Claim ``host`` for ``request`` inside ``session``'s transaction.

    Returns False if the host no longer fits; raises LostRace if the instance
    is no longer waiting to be scheduled (deleted meanwhile, or placed by a
    duplicate of this request handled at the same time)."""
    try:
        if not allocations.claim(session, host.node_id, request.instance_uuid,
                                 request.vcpus, request.memory_mb, request.disk_gb):
            return False
    except allocations.AlreadyClaimed:
        raise LostRace(request.instance_uuid) from None
    if not instances.transition(session, request.instance_uuid,
                                {"vm_state": states.BUILDING,
                                 "task_state": states.SCHEDULING, "host": None},
                                task_state=states.SPAWNING, host=host.host,
                                node=host.hypervisor_hostname):
        raise LostRace(request.instance_uuid)
    return True
