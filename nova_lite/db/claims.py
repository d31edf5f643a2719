"""Claims for a batch of instances, in one transaction and a fixed number of
statements whatever the batch size (the single-instance claim is
``allocations.claim``; the rule is the same: a node's usage grows only by a
conditional UPDATE that re-checks the fit (``allocations.capacity``, the one
definition of it), together with the Allocation rows,
so any number of schedulers race without double-booking).

    lock the server groups of the batch's members, in id order, and re-check
      their hard policy (affinity, anti-affinity) against where their
      members are now                                            -> members that break it
    lock the batch's nodes, in id order        (no deadlock between schedulers)
    UPDATE compute_nodes += per-node totals    WHERE it still fits   -> nodes that took it
    INSERT allocations ... ON CONFLICT DO NOTHING                    -> not placed elsewhere
    UPDATE instances scheduling -> spawning on host  (compare-and-set) -> still waiting
    what was added for instances that did not make it is subtracted again
    one 'schedule_instances' action event per placed instance

A node's usage therefore always equals the sum of its allocations when the
transaction commits, and a server group's hard policy holds whatever number
of schedulers race: each claim that places a member holds its group's row
from the re-check to its commit (db/server_groups.py). A placement refused
for its group counts as ``full``: the scheduler looks again, with the group
as it is now."""
import collections
import dataclasses

from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from nova_lite.db import allocations, models, server_groups
from nova_lite.objects import states


@dataclasses.dataclass(frozen=True)
class Placement:
    instance_uuid: str
    node_id: int
    host: str
    node: str
    vcpus: int
    memory_mb: int
    disk_gb: int


@dataclasses.dataclass
class Outcome:
    placed: dict            # uuid -> host it was placed on
    full: set               # uuids whose node no longer had room (or whose group failed)
    lost: set               # uuids already placed elsewhere or no longer waiting


_LOCK = text("SELECT id FROM compute_nodes WHERE id = ANY(CAST(:ids AS integer[])) "
             "ORDER BY id FOR UPDATE")

def _sql(expression):
    return str(expression.compile(dialect=postgresql.dialect(),
                                  compile_kwargs={"literal_binds": True}))


# The fit re-checked here is allocations.capacity's, compiled once.
_CAP_VCPUS, _CAP_MEM, _CAP_DISK = (_sql(c) for c in allocations.capacity(models.ComputeNode))
_GROW = text(f"""
UPDATE compute_nodes SET vcpus_used = compute_nodes.vcpus_used + d.vcpus,
       memory_mb_used = compute_nodes.memory_mb_used + d.mem,
       local_gb_used = compute_nodes.local_gb_used + d.disk,
       running_vms = compute_nodes.running_vms + d.cnt
FROM unnest(CAST(:ids AS integer[]), CAST(:vcpus AS integer[]), CAST(:mem AS integer[]),
            CAST(:disk AS integer[]), CAST(:cnt AS integer[])) AS d(id, vcpus, mem, disk, cnt)
WHERE compute_nodes.id = d.id
  AND compute_nodes.vcpus_used + d.vcpus <= {_CAP_VCPUS}
  AND compute_nodes.memory_mb_used + d.mem <= {_CAP_MEM}
  AND compute_nodes.local_gb_used + d.disk <= {_CAP_DISK}
RETURNING compute_nodes.id""")

_SHRINK = text("""
UPDATE compute_nodes n SET vcpus_used = n.vcpus_used - d.vcpus,
       memory_mb_used = n.memory_mb_used - d.mem, local_gb_used = n.local_gb_used - d.disk,
       running_vms = n.running_vms - d.cnt
FROM unnest(CAST(:ids AS integer[]), CAST(:vcpus AS integer[]), CAST(:mem AS integer[]),
            CAST(:disk AS integer[]), CAST(:cnt AS integer[])) AS d(id, vcpus, mem, disk, cnt)
WHERE n.id = d.id""")

_ALLOCATE = text("""
INSERT INTO allocations (instance_uuid, node_id, vcpus, memory_mb, disk_gb, created_at)
SELECT a.uuid, a.node_id, a.vcpus, a.mem, a.disk, :now
FROM unnest(CAST(:uuids AS varchar[]), CAST(:nodes AS integer[]), CAST(:vcpus AS integer[]),
            CAST(:mem AS integer[]), CAST(:disk AS integer[]))
     AS a(uuid, node_id, vcpus, mem, disk)
ON CONFLICT DO NOTHING RETURNING instance_uuid""")

_UNALLOCATE = text("DELETE FROM allocations WHERE instance_uuid = ANY(CAST(:uuids AS varchar[]))")

_PLACE = text("""
UPDATE instances i SET task_state = :spawning, host = v.host, node = v.node,
       task_updated_at = :now, updated_at = :now
FROM unnest(CAST(:uuids AS varchar[]), CAST(:hosts AS varchar[]), CAST(:nodes AS varchar[]))
     AS v(uuid, host, node)
WHERE i.uuid = v.uuid AND NOT i.deleted AND i.vm_state = :building
  AND i.task_state = :scheduling AND i.host IS NULL
RETURNING i.uuid, i.host""")

_EVENTS = text("""
INSERT INTO instance_action_events (action_id, event, host, result, start_time, finish_time)
SELECT a.id, 'schedule_instances', v.host, 'Success', :now, :now
FROM unnest(CAST(:uuids AS varchar[]), CAST(:hosts AS varchar[])) AS v(uuid, host)
JOIN LATERAL (SELECT id FROM instance_actions
              WHERE instance_uuid = v.uuid AND action = 'create'
              ORDER BY id DESC LIMIT 1) a ON true""")


def _totals(placements):
    totals = collections.defaultdict(lambda: [0, 0, 0, 0])
    for p in placements:
        t = totals[p.node_id]
        t[0] += p.vcpus
        t[1] += p.memory_mb
        t[2] += p.disk_gb
        t[3] += 1
    ids = sorted(totals)
    return {"ids": ids, "vcpus": [totals[i][0] for i in ids],
            "mem": [totals[i][1] for i in ids], "disk": [totals[i][2] for i in ids],
            "cnt": [totals[i][3] for i in ids]}


def _group_conflicts(session, placements, group_of):
    """Lock the hard-policy groups of the placements and return the uuids
    whose host would break their group's policy, given where its members are
    now and the placements before it in this batch."""
    wanted = {p.instance_uuid: group_of[p.instance_uuid] for p in placements
              if p.instance_uuid in group_of}
    if not wanted:
        return set()
    current = server_groups.states(session, wanted.values(), lock=True)
    refused = set()
    for p in placements:
        state = current.get(wanted.get(p.instance_uuid))
        if state is None:
            continue
        if server_groups.violates(state, p.host):
            refused.add(p.instance_uuid)
        else:
            state.hosts[p.host] += 1
    return refused


def claim_batch(session, placements, groups=None, group_of=None):
    """Claim every placement inside ``session``'s transaction.

    ``groups`` maps an instance uuid to the uuids that must be placed with it
    (a multi-create): if one of them does not fit, none of them is placed.
    ``group_of`` maps an instance uuid to the id of its server group with a
    hard policy, which the claim re-checks under the group's lock."""
    placements = list(placements)
    if not placements:
        return Outcome({}, set(), set())
    now = models.utcnow()
    refused = _group_conflicts(session, placements, group_of or {})
    if refused:
        if groups:
            for uuid in list(refused):
                refused.update(groups.get(uuid, ()))
        placements = [p for p in placements if p.instance_uuid not in refused]
        if not placements:
            return Outcome({}, refused, set())
    grow = _totals(placements)
    session.execute(_LOCK, {"ids": grow["ids"]})
    took = set(session.scalars(_GROW, grow).all())
    full = {p.instance_uuid for p in placements if p.node_id not in took} | refused
    if full and groups:
        for uuid in list(full):
            full.update(groups.get(uuid, ()))
    claimed = [p for p in placements if p.instance_uuid not in full]
    undo = [p for p in placements if p.node_id in took and p.instance_uuid in full]
    placed = {}
    if claimed:
        inserted = set(session.scalars(_ALLOCATE, {
            "uuids": [p.instance_uuid for p in claimed], "nodes": [p.node_id for p in claimed],
            "vcpus": [p.vcpus for p in claimed], "mem": [p.memory_mb for p in claimed],
            "disk": [p.disk_gb for p in claimed], "now": now}).all())
        moving = [p for p in claimed if p.instance_uuid in inserted]
        if moving:
            rows = session.execute(_PLACE, {
                "uuids": [p.instance_uuid for p in moving], "hosts": [p.host for p in moving],
                "nodes": [p.node for p in moving], "now": now, "spawning": states.SPAWNING,
                "building": states.BUILDING, "scheduling": states.SCHEDULING}).all()
            placed = {row.uuid: row.host for row in rows}
        stale = [u for u in inserted if u not in placed]
        if stale:
            session.execute(_UNALLOCATE, {"uuids": stale})
        undo += [p for p in claimed if p.instance_uuid not in placed]
    if undo:
        session.execute(_SHRINK, _totals(undo))
    if placed:
        hosts = {p.instance_uuid: p.host for p in claimed}
        session.execute(_EVENTS, {"uuids": list(placed), "hosts": [hosts[u] for u in placed],
                                  "now": now})
    lost = {p.instance_uuid for p in claimed if p.instance_uuid not in placed}
    return Outcome(placed, full, lost)
