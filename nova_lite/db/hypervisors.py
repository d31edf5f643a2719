"""The hypervisors (compute_nodes rows) as os-hypervisors shows them: each
with its compute service, paged by id, their totals, and the servers on them.

Every query is one statement whatever the number of hosts: a page is an
index range scan of the primary key from the marker on (never OFFSET), a
hostname pattern is matched through the trigram index (0016), the servers
of a page's hosts through ix_instances_live_host."""
from sqlalchemy import and_, func, select

from nova_lite.db import models

N = models.ComputeNode
S = models.Service
I = models.Instance
COMPUTE = "nova-lite-compute"

_JOINED = select(N, S).outerjoin(S, and_(S.host == N.host, S.binary == COMPUTE))


def _escape_like(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def page(session, limit=None, after_id=None, pattern=None):
    """[(ComputeNode, Service or None)] by id, after node id ``after_id``,
    at most ``limit``; with ``pattern``, only hostnames containing it."""
    query = _JOINED
    if after_id is not None:
        query = query.where(N.id > after_id)
    if pattern is not None:
        query = query.where(N.hypervisor_hostname.like(f"%{_escape_like(pattern)}%",
                                                       escape="\\"))
    query = query.order_by(N.id)
    if limit is not None:
        query = query.limit(limit)
    return session.execute(query).all()


def get(session, node_id=None, node_uuid=None):
    """(ComputeNode, Service or None) by id or uuid, or None."""
    query = _JOINED.where(N.id == node_id) if node_uuid is None \
        else _JOINED.where(N.uuid == node_uuid)
    return session.execute(query).first()


def id_of(session, node_uuid):
    """The node id of a uuid (a 2.53 marker), or None."""
    return session.scalar(select(N.id).where(N.uuid == node_uuid))


def workloads(session, hosts):
    """{host: number of its live servers with a task in progress}."""
    if not hosts:
        return {}
    rows = session.execute(
        select(I.host, func.count()).where(I.host.in_(list(hosts)), ~I.deleted,
                                           I.task_state.is_not(None))
        .group_by(I.host)).all()
    return dict(rows)


def servers(session, hosts):
    """{host: [(uuid, name), ...]} of the live servers on ``hosts``."""
    found = {}
    if not hosts:
        return found
    for host, uuid, name in session.execute(
            select(I.host, I.uuid, I.name).where(I.host.in_(list(hosts)), ~I.deleted)
            .order_by(I.host, I.created_at, I.uuid)):
        found.setdefault(host, []).append((uuid, name))
    return found


def statistics(session):
    """The totals over every hypervisor (os-hypervisors/statistics)."""
    row = session.execute(select(
        func.count(N.id), func.coalesce(func.sum(N.vcpus), 0),
        func.coalesce(func.sum(N.vcpus_used), 0), func.coalesce(func.sum(N.memory_mb), 0),
        func.coalesce(func.sum(N.memory_mb_used), 0), func.coalesce(func.sum(N.local_gb), 0),
        func.coalesce(func.sum(N.local_gb_used), 0),
        func.coalesce(func.sum(N.running_vms), 0))).one()
    count, vcpus, vcpus_used, memory_mb, memory_mb_used, local_gb, local_gb_used, vms = row
    working = session.scalar(select(func.count()).where(
        ~I.deleted, I.host.is_not(None), I.task_state.is_not(None)))
    return {
        "count": count, "vcpus": vcpus, "vcpus_used": vcpus_used,
        "memory_mb": memory_mb, "memory_mb_used": memory_mb_used,
        "free_ram_mb": memory_mb - memory_mb_used,
        "local_gb": local_gb, "local_gb_used": local_gb_used,
        "free_disk_gb": local_gb - local_gb_used,
        "disk_available_least": local_gb - local_gb_used,
        "running_vms": vms, "current_workload": working,
    }
