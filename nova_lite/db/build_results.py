"""What compute hosts report about builds and deletes, for many instances in
a fixed number of statements (the one-instance handlers in the conductor do
the same with a statement or two per instance).

    spawned(reports)      building/spawning on that host -> ACTIVE       (compare-and-set)
                          + one 'compute_build_and_run_instance' event, the
                            'create' action finished, ports bound ACTIVE
    terminated(reports)   live on that host -> soft-deleted              (compare-and-set)
                          + claims released (nodes locked in id order),
                            the 'delete' action finished

Each returns which instances it changed, so the caller knows which reports
were news and which were late or repeated (a redelivered message changes
nothing the second time). Ports of terminated instances are released by the
caller (nova_lite.network.instance_ports.release takes a list)."""
from sqlalchemy import text

from nova_lite.db import models
from nova_lite.objects import states

_SPAWNED = text("""
UPDATE instances i SET vm_state = :active, task_state = NULL, power_state = v.power,
       launched_at = :now, task_updated_at = :now, updated_at = :now
FROM unnest(CAST(:uuids AS varchar[]), CAST(:hosts AS varchar[]),
            CAST(:powers AS integer[])) AS v(uuid, host, power)
WHERE i.uuid = v.uuid AND NOT i.deleted AND i.vm_state = :building
  AND i.task_state = :spawning AND i.host = v.host
RETURNING i.uuid, i.host""")

_WHERE_NOW = text("""
SELECT uuid, host, deleted FROM instances WHERE uuid = ANY(CAST(:uuids AS varchar[]))""")

_EVENTS = text("""
INSERT INTO instance_action_events (action_id, event, host, result, start_time, finish_time)
SELECT a.id, :event, v.host, 'Success', :now, :now
FROM unnest(CAST(:uuids AS varchar[]), CAST(:hosts AS varchar[])) AS v(uuid, host)
JOIN LATERAL (SELECT id FROM instance_actions
              WHERE instance_uuid = v.uuid AND action = :action
              ORDER BY id DESC LIMIT 1) a ON true""")

_FINISH = text("""
UPDATE instance_actions SET finish_time = :now
WHERE id IN (SELECT a.id FROM unnest(CAST(:uuids AS varchar[])) AS v(uuid)
             JOIN LATERAL (SELECT id FROM instance_actions
                           WHERE instance_uuid = v.uuid AND action = :action
                             AND finish_time IS NULL
                           ORDER BY id DESC LIMIT 1) a ON true)""")

_BIND = text("""
UPDATE ports p SET binding_host_id = v.host, status = 'ACTIVE'
FROM unnest(CAST(:uuids AS varchar[]), CAST(:hosts AS varchar[])) AS v(uuid, host)
WHERE p.device_id = v.uuid AND p.device_owner LIKE 'compute:%'""")

_TERMINATED = text("""
UPDATE instances i SET deleted = true, deleted_at = :now, terminated_at = :now,
       updated_at = :now, vm_state = :deleted, task_state = NULL, power_state = :nostate
FROM unnest(CAST(:uuids AS varchar[]), CAST(:hosts AS varchar[])) AS v(uuid, host)
WHERE i.uuid = v.uuid AND NOT i.deleted AND i.host = v.host
RETURNING i.uuid""")

_LOCK_NODES = text("""
SELECT id FROM compute_nodes WHERE id IN (
    SELECT node_id FROM allocations WHERE instance_uuid = ANY(CAST(:uuids AS varchar[])))
ORDER BY id FOR UPDATE""")

_RELEASE = text("""
WITH freed AS (
    DELETE FROM allocations WHERE instance_uuid = ANY(CAST(:uuids AS varchar[]))
    RETURNING node_id, vcpus, memory_mb, disk_gb
), per_node AS (
    SELECT node_id, sum(vcpus) AS vcpus, sum(memory_mb) AS mem, sum(disk_gb) AS disk,
           count(*) AS cnt
    FROM freed GROUP BY node_id
)
UPDATE compute_nodes n SET vcpus_used = n.vcpus_used - p.vcpus,
       memory_mb_used = n.memory_mb_used - p.mem, local_gb_used = n.local_gb_used - p.disk,
       running_vms = n.running_vms - p.cnt
FROM per_node p WHERE n.id = p.node_id""")


def _columns(reports, *keys):
    return {key: [r[key] for r in reports] for key in keys}


def spawned(session, reports):
    """``reports``: [{"instance_uuid", "host", "power_state"}]. Returns
    (made_active {uuid: host}, orphans [(uuid, host)]): an orphan is a guest
    that was built for an instance deleted (or moved) meanwhile; its host
    must remove it."""
    if not reports:
        return {}, []
    reports = sorted(reports, key=lambda r: r["instance_uuid"])
    now = models.utcnow()
    rows = session.execute(_SPAWNED, {
        "uuids": [r["instance_uuid"] for r in reports],
        "hosts": [r["host"] for r in reports],
        "powers": [int(r["power_state"]) for r in reports],
        "now": now, "active": states.ACTIVE, "building": states.BUILDING,
        "spawning": states.SPAWNING}).all()
    active = {row.uuid: row.host for row in rows}
    if active:
        uuids, hosts = list(active), list(active.values())
        session.execute(_EVENTS, {"uuids": uuids, "hosts": hosts, "now": now,
                                  "event": "compute_build_and_run_instance",
                                  "action": "create"})
        session.execute(_FINISH, {"uuids": uuids, "now": now, "action": "create"})
        session.execute(_BIND, {"uuids": uuids, "hosts": hosts})
    rest = [r for r in reports if r["instance_uuid"] not in active]
    orphans = []
    if rest:
        now_at = {row.uuid: row for row in session.execute(
            _WHERE_NOW, {"uuids": [r["instance_uuid"] for r in rest]})}
        for report in rest:
            row = now_at.get(report["instance_uuid"])
            if row is None or row.deleted or row.host != report["host"]:
                orphans.append((report["instance_uuid"], report["host"]))
    return active, orphans


def terminated(session, reports):
    """``reports``: [{"instance_uuid", "host"}]. Soft-deletes the instances
    still live on the reporting host, releases their claims and finishes
    their 'delete' action; returns the uuids it deleted."""
    if not reports:
        return []
    reports = sorted(reports, key=lambda r: r["instance_uuid"])
    uuids = [r["instance_uuid"] for r in reports]
    # Claims lock their nodes in id order; so do we, before touching rows
    # that a claim could be waiting on.
    session.execute(_LOCK_NODES, {"uuids": uuids})
    now = models.utcnow()
    deleted = list(session.execute(_TERMINATED, {
        "uuids": uuids, "hosts": [r["host"] for r in reports], "now": now,
        "deleted": states.DELETED, "nostate": states.NOSTATE}).scalars())
    if deleted:
        session.execute(_RELEASE, {"uuids": deleted})
        session.execute(_FINISH, {"uuids": deleted, "now": now, "action": "delete"})
    return deleted
