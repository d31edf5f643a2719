"""Server groups: their rows, their members, their quotas, and what the
scheduler needs to honour them.

A group's members are the live instances whose RequestSpec names it. Adding
members (a create naming the group in its ``group`` hint) locks the group's
row, so two creates racing for its last ``server_group_members`` slot queue
on it; the scheduler's claim locks the same row before it re-checks the
policy (db/claims.py), so two schedulers placing members of one group queue
too, and neither can break it."""
import collections
import dataclasses

from sqlalchemy import func, select, text

from nova_lite import exception
from nova_lite.db import models, quotas

G = models.InstanceGroup
R = models.RequestSpec
I = models.Instance

HARD = ("affinity", "anti-affinity")
SOFT = ("soft-affinity", "soft-anti-affinity")
POLICIES = HARD + SOFT


def create(session, project_id, user_id, name, policy, rules=None):
    """A new group, if the project's ``server_groups`` quota allows (the
    project's count and check serialised by a transaction-scoped lock)."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                    {"k": "nl-server-groups:" + project_id})
    if quotas.enforced():
        limit = quotas.limits(session, project_id, user_id)["server_groups"]
        used = in_use(session, project_id)
        if 0 <= limit < used + 1:
            raise OverQuota("server_groups", "Quota exceeded, too many server groups.",
                            1, used, limit)
    group = G(name=name, project_id=project_id, user_id=user_id, policy=policy,
              rules=rules or {})
    session.add(group)
    session.flush()
    return group


def in_use(session, project_id):
    """Server groups of the project (quota ``server_groups``)."""
    return session.scalar(select(func.count()).select_from(G)
                          .where(G.project_id == project_id))


def get(session, group_uuid, project_id=None, lock=False):
    query = select(G).where(G.uuid == group_uuid)
    if project_id is not None:
        query = query.where(G.project_id == project_id)
    if lock:
        query = query.with_for_update()
    group = session.scalars(query).first()
    if group is None:
        raise exception.NotFound(f"Instance group {group_uuid} could not be found.")
    return group


def members(session, group_ids):
    """{group id: [live member uuids, oldest first]}."""
    found = collections.defaultdict(list)
    if not group_ids:
        return found
    rows = session.execute(select(R.group_id, I.uuid).join(I, I.uuid == R.instance_uuid)
                           .where(R.group_id.in_(list(group_ids)), ~I.deleted)
                           .order_by(I.created_at, I.uuid)).all()
    for group_id, uuid in rows:
        found[group_id].append(uuid)
    return found


def groups_of(session, instance_uuids):
    """{instance uuid: [the uuid of its group]} of those that have one."""
    if not instance_uuids:
        return {}
    rows = session.execute(select(R.instance_uuid, G.uuid).join(G, G.id == R.group_id)
                           .where(R.instance_uuid.in_(list(instance_uuids)))).all()
    return {instance: [group] for instance, group in rows}


def add_members(session, group, count, user_id):
    """Check that ``count`` more servers fit the group's
    ``server_group_members`` quota; ``group`` was read with ``lock=True``."""
    if not quotas.enforced():
        return
    limit = quotas.limits(session, group.project_id, user_id)["server_group_members"]
    used = len(members(session, [group.id])[group.id])
    if 0 <= limit < used + count:
        raise OverQuota("server_group_members",
                        "Quota exceeded, too many servers in group", count, used, limit)


def delete(session, group):
    session.delete(group)


def max_per_host(group):
    """How many members one host may hold: 1 for anti-affinity unless the
    group's rules say more (2.64 ``max_server_per_host``); None: no limit."""
    if group.policy == "anti-affinity":
        return int((group.rules or {}).get("max_server_per_host", 1))
    return None


class OverQuota(quotas.OverQuota):
    def __init__(self, resource, message, requested, in_use, limit):
        super().__init__(resource, requested, in_use, limit)
        self.message = message
        self.args = (message,)


@dataclasses.dataclass
class GroupState:
    """A group as the scheduler sees it: its policy, and how many members
    each host holds (those placed, and those the batch assigns)."""
    id: int
    policy: str
    max_per_host: int | None
    hosts: collections.Counter = dataclasses.field(default_factory=collections.Counter)


_HOSTS = text("""
SELECT g.id, g.policy, g.rules, i.host, count(i.uuid) AS n
FROM instance_groups g
LEFT JOIN request_specs r ON r.group_id = g.id
LEFT JOIN instances i ON i.uuid = r.instance_uuid AND NOT i.deleted AND i.host IS NOT NULL
WHERE g.id = ANY(CAST(:ids AS integer[]))
GROUP BY g.id, g.policy, g.rules, i.host""")

_LOCK = text("SELECT id FROM instance_groups WHERE id = ANY(CAST(:ids AS integer[])) "
             "ORDER BY id FOR UPDATE")


def states(session, group_ids, lock=False):
    """{group id: GroupState} with where their members are now; ``lock``:
    lock the groups first, in id order (the claim)."""
    ids = sorted(set(group_ids))
    if not ids:
        return {}
    if lock:
        session.execute(_LOCK, {"ids": ids})
    result = {}
    for row in session.execute(_HOSTS, {"ids": ids}).all():
        state = result.get(row.id)
        if state is None:
            state = result[row.id] = GroupState(row.id, row.policy, max_per_host(row))
        if row.host is not None:
            state.hosts[row.host] += row.n
    return result


def violates(state, host):
    """Would one more member on ``host`` break the group's hard policy?"""
    if state.policy == "anti-affinity":
        return state.hosts[host] >= state.max_per_host
    if state.policy == "affinity":
        return bool(state.hosts) and host not in state.hosts
    return False
