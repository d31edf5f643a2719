"""Resource claims on compute nodes: one atomic statement each way, and the
one definition of whether a request fits a node (``capacity``).

``claim`` adds an instance's flavor to a node's usage only if it still fits
(a conditional UPDATE: no lock is held between reading candidates and
claiming, so any number of schedulers can race and none double-books), and
records an Allocation row. ``release`` deletes that row and subtracts exactly
what it held, so running it twice has no effect the second time."""
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert

from nova_lite.db import models

N = models.ComputeNode


def capacity(node):
    """What a node may hold, (vcpus, memory_mb, disk_gb): its size times the
    allocation ratio, less what is reserved for the host. The one definition
    of "does it fit" (a request fits when used + requested <= capacity, each
    of the three): ``node`` is anything with ComputeNode's attributes, so the
    same expression serves Python (the scheduler's HostState) and SQL (the
    ComputeNode class: the candidate query, ``claim`` and the batch claim of
    db/claims.py, which compiles it)."""
    return (node.vcpus * node.cpu_allocation_ratio,
            node.memory_mb * node.ram_allocation_ratio - node.reserved_host_memory_mb,
            node.local_gb * node.disk_allocation_ratio - node.reserved_host_disk_mb / 1024.0)


def used(node):
    return (node.vcpus_used, node.memory_mb_used, node.local_gb_used)


def free(node):
    """(vcpus, memory_mb, disk_gb) still free on ``node`` (may be negative)."""
    return tuple(c - u for c, u in zip(capacity(node), used(node)))


def fits(vcpus, memory_mb, disk_gb):
    """SQL conditions: the node has room for this much more."""
    return tuple(u + want <= c for u, want, c in zip(used(N), (vcpus, memory_mb, disk_gb),
                                                      capacity(N)))


class AlreadyClaimed(Exception):
    """The instance already holds an allocation (another scheduler placed it)."""


def claim(session, node_id, instance_uuid, vcpus, memory_mb, disk_gb):
    """Claim resources on ``node_id`` for an instance; False if they no longer
    fit; AlreadyClaimed if the instance already holds an allocation."""
    savepoint = session.begin_nested()
    updated = session.execute(
        update(N).where(N.id == node_id, *fits(vcpus, memory_mb, disk_gb))
        .values(vcpus_used=N.vcpus_used + vcpus, memory_mb_used=N.memory_mb_used + memory_mb,
                local_gb_used=N.local_gb_used + disk_gb, running_vms=N.running_vms + 1)
        .execution_options(synchronize_session=False)).rowcount == 1
    inserted = updated and session.execute(
        insert(models.Allocation).values(instance_uuid=instance_uuid, node_id=node_id,
                                         vcpus=vcpus, memory_mb=memory_mb, disk_gb=disk_gb,
                                         created_at=models.utcnow())
        .on_conflict_do_nothing().returning(models.Allocation.instance_uuid)).first()
    if inserted:
        savepoint.commit()
        return True
    savepoint.rollback()
    if updated:
        raise AlreadyClaimed(instance_uuid)
    return False


def lock_nodes_of(session, instance_uuid):
    """Lock the node the instance holds resources on, before its own row is
    touched: claims and batched deletes lock nodes first, then instance rows,
    and whoever takes them the other way round can deadlock with them."""
    session.execute(select(N.id).where(N.id.in_(
        select(models.Allocation.node_id)
        .where(models.Allocation.instance_uuid == instance_uuid)))
        .order_by(N.id).with_for_update())


def release(session, instance_uuid):
    """Give back what the instance holds; True if it held anything."""
    held = session.execute(delete(models.Allocation)
                           .where(models.Allocation.instance_uuid == instance_uuid)
                           .returning(models.Allocation.node_id, models.Allocation.vcpus,
                                      models.Allocation.memory_mb,
                                      models.Allocation.disk_gb)).first()
    if held is None:
        return False
    session.execute(update(N).where(N.id == held.node_id).values(
        vcpus_used=N.vcpus_used - held.vcpus,
        memory_mb_used=N.memory_mb_used - held.memory_mb,
        local_gb_used=N.local_gb_used - held.disk_gb,
        running_vms=N.running_vms - 1).execution_options(synchronize_session=False))
    return True
