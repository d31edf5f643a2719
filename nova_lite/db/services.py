"""Service registry and heartbeats (``services`` table), and compute node rows."""
import datetime

from sqlalchemy import exists, false, or_, select
from sqlalchemy.dialects.postgresql import insert

from nova_lite.conf import CONF
from nova_lite.db import models
from nova_lite.db.session import transaction


def heartbeat(session, host, binary, topic):
    now = models.utcnow()
    stmt = insert(models.Service).values(host=host, binary=binary, topic=topic,
                                         last_seen_up=now, report_count=1, created_at=now,
                                         updated_at=now)
    session.execute(stmt.on_conflict_do_update(
        index_elements=["host", "binary"],
        set_={"last_seen_up": now, "updated_at": now, "topic": topic,
              "report_count": models.Service.report_count + 1}))


def record_heartbeat(host, binary, topic):
    """A heartbeat in its own transaction (the periodic task of DB-connected services)."""
    with transaction() as session:
        heartbeat(session, host, binary, topic)


def up_since():
    """Services whose last heartbeat is newer than this are up."""
    return models.utcnow() - datetime.timedelta(seconds=CONF.service_down_time)


def any_compute_up(session):
    """Whether any compute service has reported recently. None has after an
    outage of the bus that carries their reports: a reason to wait, not fail."""
    return session.scalar(select(exists().where(
        models.Service.binary == "nova-lite-compute", ~models.Service.disabled,
        models.Service.last_seen_up >= up_since())))


def is_up(service):
    return (not service.forced_down and service.last_seen_up is not None
            and service.last_seen_up >= up_since())


def upsert_compute_node(session, host, resources):
    """Record what a hypervisor reports it has; usage columns are never touched
    here (only claims and releases move them), and a report that changes
    nothing leaves the row alone (claims lock it; a heartbeat should not)."""
    values = {k: resources[k] for k in (
        "hypervisor_hostname", "hypervisor_type", "hypervisor_version", "host_ip", "vcpus",
        "memory_mb", "local_gb", "cpu_allocation_ratio", "ram_allocation_ratio",
        "disk_allocation_ratio", "reserved_host_memory_mb", "reserved_host_disk_mb")
        if k in resources}
    now = models.utcnow()
    stmt = insert(models.ComputeNode).values(host=host, created_at=now, updated_at=now,
                                             uuid=resources.get("uuid") or models.new_uuid(),
                                             **values)
    N = models.ComputeNode
    changed = or_(false(), *(getattr(N, k).is_distinct_from(stmt.excluded[k])
                             for k in values))
    session.execute(stmt.on_conflict_do_update(index_elements=["host"],
                                               set_={**values, "updated_at": now},
                                               where=changed))


def list_services(session):
    return session.scalars(select(models.Service).order_by(models.Service.binary,
                                                           models.Service.host)).all()


def host_statuses(session, hosts):
    """{host: Nova's host_status of its compute service}: UP, DOWN (no recent
    heartbeat, or forced down), MAINTENANCE (disabled) or UNKNOWN (none)."""
    if not hosts:
        return {}
    found = {host: "UNKNOWN" for host in hosts}
    for service in session.scalars(select(models.Service).where(
            models.Service.binary == "nova-lite-compute",
            models.Service.host.in_(sorted(hosts)))):
        if not is_up(service):
            found[service.host] = "DOWN"
        else:
            found[service.host] = "MAINTENANCE" if service.disabled else "UP"
    return found


# -- the operator's view (os-services, nova-lite-manage service ...) -----------------------
S = models.Service


def find(session, host=None, binary=None):
    """Services, by binary then host, optionally of one ``host`` / ``binary``."""
    query = select(S).order_by(S.binary, S.host)
    if host:
        query = query.where(S.host == host)
    if binary:
        query = query.where(S.binary == binary)
    return session.scalars(query).all()


def get(session, service_id, for_update=False):
    """The service with this id (an integer id, or its uuid), or None."""
    if isinstance(service_id, int) or str(service_id).isdigit():
        if int(service_id) > 2**31 - 1:
            return None
        query = select(S).where(S.id == int(service_id))
    else:
        query = select(S).where(S.uuid == str(service_id))
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def get_by_host_binary(session, host, binary, for_update=False):
    query = select(S).where(S.host == host, S.binary == binary)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def set_status(service, disabled=None, reason=None, forced_down=None):
    """Enable or disable ``service`` (a disabled compute host gets no new
    servers: the scheduler's candidates skip it) and/or force it down."""
    if disabled is not None:
        service.disabled = disabled
        service.disabled_reason = reason if disabled else None
    if forced_down is not None:
        service.forced_down = forced_down
    service.updated_at = models.utcnow()


class InUse(Exception):
    """A compute service whose host still has live servers."""


def delete(session, service):
    """Delete a service row; a compute service's node goes with it. Refused
    (InUse) while its host has live servers, as Nova does."""
    ComputeNode, Instance = models.ComputeNode, models.Instance
    if service.binary == "nova-lite-compute":
        busy = session.scalar(select(exists().where(Instance.host == service.host,
                                                    ~Instance.deleted)))
        if busy:
            raise InUse(service.host)
        node = session.scalars(select(ComputeNode).where(
            ComputeNode.host == service.host).with_for_update()).first()
        if node is not None:
            session.execute(models.Allocation.__table__.delete().where(
                models.Allocation.node_id == node.id))
            session.delete(node)
    session.delete(service)
