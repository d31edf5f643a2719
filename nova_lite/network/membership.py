"""Remote-group membership, told to compute hosts incrementally.

A rule "ingress from members of group G" (the ``default`` group's own rule
names itself) needs, on every host with a guest under that rule, the set of
G's member addresses. Sending every member's rules again whenever one member
comes or goes costs the cloud O(members) per server, O(servers^2) in all. Here
a change costs O(1) where it happens and O(hosts that hear of it) per pass:

    port bound / deleted / re-grouped, address taken / freed   (any code path)
        │ database triggers (migration 0004), same transaction:
        │   security_group_member_changes  (group, address, joined or left)
        │   security_group_hosts           (remote group, host) when a bound
        │                                  port's rules name the group there
        v
    fanout_once, every [network] membership_interval, in one conductor at a
    time (the security_group_fanout row, locked SKIP LOCKED), one short
    transaction:
        read up to [network] membership_batch changes, in id order
        the hosts that hear of each changed group   (security_group_hosts,
                                                     minus hypervisors without
                                                     a data plane)
        the whole membership of groups hosts asked for  (member_syncs)
        one update_security_group_members per host, into the outbox
        delete what was read, pass_number + 1
        │
        v
    compute host: nftables named sets per group, elements added and deleted
    (nova_lite.network.host.plug.update_members); a host that hears of a
    group none of its guests' rules name answers ``unwanted`` and is
    forgotten for it.

**Ordering without a global order.** Messages may reach a host in any order
(several handler threads, redeliveries). Every entry carries the pass number
that read it; passes are serialized and each reads what the previous one
committed, so a higher pass is newer. Changes of one (group, address) are
made by transactions that lock the same row (the address's, the port's), so
their ids follow their commits and the latest in a pass wins. A host keeps,
per group and address, the pass of what it applied (and of removals, for a
while) and ignores anything older; a whole membership ("snapshot") read in
pass p replaces what is older than p.

**How a host gets a whole set.** When a guest's rules name a group whose set
the host lacks (its first such guest, a new rule, a restart), the host asks
(``security_group_members_wanted``); the next pass sends the set. Until then
the rule matches nobody: a new guest's peers reach it about one pass later.
"""
import logging

from sqlalchemy import text

from nova_lite.conf import CONF
from nova_lite.db.session import transaction
from nova_lite.rpc import casts, outbox

LOG = logging.getLogger(__name__)

_BEGIN = text("SELECT pass_number FROM security_group_fanout WHERE id = 1 "
              "FOR UPDATE SKIP LOCKED")
_ENSURE_ROW = text("INSERT INTO security_group_fanout (id, pass_number) VALUES (1, 0) "
                   "ON CONFLICT DO NOTHING")
_END = text("UPDATE security_group_fanout SET pass_number = :number WHERE id = 1")

_CHANGES = text("""
SELECT id, security_group_id, host(address) AS address, member
FROM security_group_member_changes ORDER BY id LIMIT :limit""")
_DELETE_CHANGES = text(
    "DELETE FROM security_group_member_changes WHERE id = ANY(CAST(:ids AS bigint[]))")

_SYNCS = text("SELECT host, security_group_id FROM security_group_member_syncs "
              "ORDER BY host, security_group_id LIMIT :limit")
_DELETE_SYNC = text("DELETE FROM security_group_member_syncs "
                    "WHERE host = :host AND security_group_id = :group")

# Hosts of hypervisor types without a data plane hear nothing.
_NOT_SKIPPED = """NOT EXISTS (SELECT 1 FROM compute_nodes n WHERE n.host = {host}
                              AND n.hypervisor_type = ANY(CAST(:skip AS varchar[])))"""
_HEARERS = text(f"""
SELECT security_group_id, host FROM security_group_hosts h
WHERE security_group_id = ANY(CAST(:groups AS varchar[]))
  AND {_NOT_SKIPPED.format(host="h.host")}""")
_HEARS = text(f"SELECT {_NOT_SKIPPED.format(host=':host')}")

_MEMBERS = text("""
SELECT host(ia.address) FROM port_security_groups g
JOIN ports p ON p.id = g.port_id AND p.binding_host_id IS NOT NULL
JOIN ip_allocations ia ON ia.port_id = p.id
WHERE g.security_group_id = :group""")

_WANT = text("""
INSERT INTO security_group_hosts (security_group_id, host)
SELECT g, :host FROM unnest(CAST(:groups AS varchar[])) AS g ON CONFLICT DO NOTHING""")
_WANT_SYNC = text("""
INSERT INTO security_group_member_syncs (host, security_group_id)
SELECT :host, g FROM unnest(CAST(:groups AS varchar[])) AS g ON CONFLICT DO NOTHING""")

# Forgetting a host for a group: lock the rows first (a bind in flight holds
# them FOR KEY SHARE, see migration 0004, so this waits for it), then check
# in a new statement, which sees what that bind committed.
_LOCK_HEARER = text("""
SELECT 1 FROM security_group_hosts
WHERE host = :host AND security_group_id = ANY(CAST(:groups AS varchar[]))
ORDER BY security_group_id FOR UPDATE""")
_FORGET = text("""
DELETE FROM security_group_hosts h
WHERE h.host = :host AND h.security_group_id = ANY(CAST(:groups AS varchar[]))
  AND NOT EXISTS (
      SELECT 1 FROM ports p
      JOIN port_security_groups g ON g.port_id = p.id
      JOIN security_group_rules r ON r.security_group_id = g.security_group_id
      WHERE p.binding_host_id = h.host AND r.remote_group_id = h.security_group_id)
RETURNING h.security_group_id""")


def members(session, group_id):
    """Addresses of the group's bound ports (what a host's set holds)."""
    return sorted(session.scalars(_MEMBERS, {"group": group_id}))


def wanted(session, host, group_ids):
    """``host`` lacks these groups' sets: it hears of them from now on, and
    the next pass sends it their whole membership."""
    groups = sorted(set(group_ids))
    if groups:
        session.execute(_WANT, {"host": host, "groups": groups})
        session.execute(_WANT_SYNC, {"host": host, "groups": groups})


def unwanted(session, host, group_ids):
    """No guest on ``host`` has rules naming these groups: stop telling it
    (unless a port bound there meanwhile needs one). Returns those forgotten."""
    groups = sorted(set(group_ids))
    if not groups:
        return []
    session.execute(_LOCK_HEARER, {"host": host, "groups": groups}).all()
    return list(session.scalars(_FORGET, {"host": host, "groups": groups}))


def fanout(max_passes=10):
    """Passes until the backlog is read (at most ``max_passes`` in a row, so
    the periodic caller stays responsive); what the conductor runs every
    [network] membership_interval."""
    limit = CONF.network.membership_batch
    for _ in range(max_passes):
        read, _sent = fanout_once(limit)
        if read < limit:
            return


def fanout_once(limit=None):
    """One pass (see the module docstring); returns (changes read, messages
    sent)."""
    limit = limit or CONF.network.membership_batch
    skip = list(CONF.conductor.network_refresh_skip_hypervisors)
    with transaction() as session:
        number = session.execute(_BEGIN).scalar()
        if number is None:
            session.execute(_ENSURE_ROW)        # a database made without migration 0004's row
            return 0, 0                         # or another conductor is running a pass
        changes = session.execute(_CHANGES, {"limit": limit}).all()
        syncs = session.execute(_SYNCS, {"limit": limit}).all()
        if not changes and not syncs:
            return 0, 0
        number += 1
        messages = _messages(session, number, changes, syncs, skip)
        outbox.enqueue_many(session, messages, {"request_id": "req-membership"})
        if changes:
            session.execute(_DELETE_CHANGES, {"ids": [c.id for c in changes]})
        for sync in syncs:
            session.execute(_DELETE_SYNC, {"host": sync.host, "group": sync.security_group_id})
        session.execute(_END, {"number": number})
    if messages:
        try:
            outbox.flush()                  # now, not at the API relays' next sweep
        except Exception as exc:  # noqa: BLE001 - the rows stay for the relays
            LOG.warning("membership pass %d: publishing left to the relays: %s", number, exc)
        LOG.info("membership pass %d: %d changes, %d whole sets, %d hosts told", number,
                 len(changes), len(syncs), len(messages))
    return len(changes), len(messages)


def _messages(session, number, changes, syncs, skip):
    """One update_security_group_members per host that hears of something."""
    latest = {}                                 # (group, address) -> member, last wins
    for change in changes:
        latest[(change.security_group_id, change.address)] = change.member
    by_group = {}
    for (group, address), member in latest.items():
        entry = by_group.setdefault(group, {"add": [], "remove": []})
        entry["add" if member else "remove"].append(address)
    per_host = {}
    if by_group:
        for group, host in session.execute(_HEARERS, {"groups": sorted(by_group),
                                                      "skip": skip}):
            per_host.setdefault(host, ({}, {}))[0][group] = by_group[group]
    sets = {}
    for sync in syncs:
        if not session.execute(_HEARS, {"host": sync.host, "skip": skip}).scalar():
            continue
        group = sync.security_group_id
        if group not in sets:
            sets[group] = members(session, group)
        updates, snapshots = per_host.setdefault(sync.host, ({}, {}))
        snapshots[group] = sets[group]
        updates.pop(group, None)            # the whole set, read later, says it all
    return [casts.update_security_group_members(host, number, updates, snapshots)
            for host, (updates, snapshots) in sorted(per_host.items())]
