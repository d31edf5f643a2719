"""Batch scheduling against PostgreSQL: a batch costs a fixed number of
queries, schedulers racing over the same requests and hosts never
double-book, and a multi-create is placed all or nothing.

Requests here ask for hundreds of vCPUs, so only the test's own nodes fit
them, whatever other tests registered in the shared database."""
import concurrent.futures
import re
import uuid

from sqlalchemy import select, text

from nova_lite.db import claims, models
from nova_lite.db.session import reader, transaction
from nova_lite.objects import states
from nova_lite.scheduler import batch
from tests.fixtures.nodes import BIG, accounting_errors, counting, instances, make_node


def states_of(uuids):
    with reader() as session:
        rows = session.execute(select(models.Instance.uuid, models.Instance.task_state,
                                      models.Instance.host)
                               .where(models.Instance.uuid.in_(uuids))).all()
    return {r.uuid: (r.task_state, r.host) for r in rows}


def test_a_batch_costs_a_fixed_number_of_queries(configured, nodes):
    tag = "qb-" + uuid.uuid4().hex[:6]
    nodes(tag, 30)
    counts = {}
    for size in (8, 64):
        ids = instances(size, vcpus=10)
        with counting() as statements:
            results = batch.schedule([(u, {"request_id": "req-q"}) for u in ids])
        assert all(m is not None and m.method == "build_and_run_instance"
                   for m in results.values()), results
        # Not counted: the network_info lookup of the payloads, which reads ports.
        counts[size] = [s for s in statements if s.split(None, 1)[0].upper()
                        not in ("BEGIN", "COMMIT", "ROLLBACK") and " ports" not in s]
    # load + siblings + liveness + highest node id (every 10 s) + candidates
    # (two when the sample wraps around) + lock + grow + allocate + place +
    # events (payloads are built from the rows loaded first): the same for 8
    # instances as for 64.
    assert len(counts[8]) <= 12 and len(counts[64]) <= 12, counts
    assert accounting_errors() == []


def test_racing_schedulers_never_double_book(configured, nodes):
    tag = "rb-" + uuid.uuid4().hex[:6]
    nodes(tag, 4)                       # room for 12 of them
    ids = [instances(1, name=f"single-{n}")[0] for n in range(20)]   # 20 requests
    items = [(u, {}) for u in ids]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        # Four schedulers, each asked for every instance (duplicate messages).
        outcomes = list(pool.map(batch.schedule, [items[i::2] + items[1 - i::2]
                                                  for i in range(4)]))
    placed = {u for u, (task, host) in states_of(ids).items() if task == states.SPAWNING}
    assert len(placed) == 12
    with reader() as session:
        held = session.execute(text("SELECT instance_uuid, count(*) FROM allocations "
                                    "WHERE instance_uuid = ANY(:ids) GROUP BY 1"),
                               {"ids": ids}).all()
    assert {r[0] for r in held} == placed and all(r[1] == 1 for r in held)
    builds = [u for result in outcomes for u, m in result.items()
              if m is not None and m.method == "build_and_run_instance"]
    assert sorted(builds) == sorted(placed), "one build message per placed instance"
    assert accounting_errors() == []


def test_room_counted_for_a_lost_claim_is_offered_again_not_refused(configured, nodes,
                                                                   monkeypatch):
    """Another scheduler places the instance this one gave a node's last slot
    to, between this one's candidate query and its claim: the instance this
    one found no host for must get that slot in the next round, not 'No
    valid host' (racing schedulers left a slot empty that way)."""
    tag = "lc-" + uuid.uuid4().hex[:6]
    nodes(tag, 1, vcpus=BIG + 100)                          # room for one
    elsewhere = make_node(f"{tag}-down", vcpus=BIG + 100, memory_mb=1 << 20,
                          disk=100000, up=False)             # no candidate: not up
    first, second = instances(1, name="lc-a")[0], instances(1, name="lc-b")[0]
    assign = batch._assign
    rounds = []

    def assign_then_lose_the_race(remaining, hosts_by_shape, groups):
        placements, no_host = assign(remaining, hosts_by_shape, groups)
        rounds.append((sorted(p.instance_uuid for p in placements), sorted(no_host)))
        if len(rounds) == 1:
            (taken,) = placements
            with transaction() as session:
                won = claims.claim_batch(session, [claims.Placement(
                    taken.instance_uuid, elsewhere, f"{tag}-down", f"{tag}-down",
                    taken.vcpus, taken.memory_mb, taken.disk_gb)])
            assert list(won.placed) == [taken.instance_uuid]
        return placements, no_host

    monkeypatch.setattr(batch, "_assign", assign_then_lose_the_race)
    results = batch.schedule([(first, {}), (second, {})])
    (lost,), (refused,) = rounds[0]
    assert results[lost] is None                     # the other scheduler's to build
    assert results[refused].method == "build_and_run_instance"
    assert results[refused].args["instance"]["host"] == f"{tag}-0"
    assert rounds[1] == ([refused], [])
    assert states_of([refused])[refused] == (states.SPAWNING, f"{tag}-0")
    assert accounting_errors() == []


def test_a_multi_create_is_placed_all_or_nothing(configured, nodes):
    tag = "mc-" + uuid.uuid4().hex[:6]
    nodes(tag, 1)                       # room for 3
    too_many = instances(5, name="big")
    results = batch.schedule([(too_many[2], {})])
    assert results[too_many[2]].method == "schedule_failed"
    assert all(task == states.SCHEDULING for task, _ in states_of(too_many).values())
    with reader() as session:
        assert session.scalar(text("SELECT count(*) FROM allocations WHERE instance_uuid "
                                   "= ANY(:ids)"), {"ids": too_many}) == 0
    with transaction() as session:        # those fail; make room for the next
        session.execute(text("UPDATE instances SET vm_state = 'error', task_state = NULL "
                             "WHERE uuid = ANY(:ids)"), {"ids": too_many})
    fitting = instances(3, name="fits")
    results = batch.schedule([(fitting[0], {})])
    assert results[fitting[0]].method == "build_and_run_instance"
    assert {task for task, _ in states_of(fitting).values()} == {states.SPAWNING}
    # The siblings' own messages, arriving now, send nothing (placed with the first).
    later = batch.schedule([(u, {}) for u in fitting[1:]])
    assert set(later.values()) == {None}
    assert accounting_errors() == []


def test_a_request_for_an_instance_placed_long_ago_sends_nothing(configured, nodes):
    """A duplicate schedule_instance (a redelivery, a reconciler nudge that
    crossed the placement) must not re-send the build: only the reconciler
    re-sends a placed instance's build, once per nudge it stamps."""
    tag = "dup-" + uuid.uuid4().hex[:6]
    nodes(tag, 1)
    [placed] = instances(1, name="dup")
    assert batch.schedule([(placed, {})])[placed].method == "build_and_run_instance"
    with transaction() as session:          # placed long ago, still spawning
        session.execute(text("UPDATE instances SET task_updated_at = now() - "
                             "interval '1 hour' WHERE uuid = :u"), {"u": placed})
    assert batch.schedule([(placed, {})]) == {placed: None}
    assert states_of([placed])[placed] == (states.SPAWNING, f"{tag}-0")
    assert accounting_errors() == []


def test_one_message_places_a_whole_multi_create(configured, nodes):
    """schedule_instances: a multi-create's instances submitted together land
    in one batch and are placed together, each with its build message."""
    tag = "mc1-" + uuid.uuid4().hex[:6]
    nodes(tag, 1)                       # room for 3
    fitting = instances(3, name="onemsg")
    batcher = batch.Batcher(batch.schedule, size=10, wait=0.05)
    results = batcher.submit_many(fitting, {})
    assert [m.method for m in results] == ["build_and_run_instance"] * 3
    assert [m.args["instance"]["uuid"] for m in results] == fitting
    assert batcher.batches == 1
    placed = states_of(fitting)
    assert {task for task, _ in placed.values()} == {states.SPAWNING}
    # Payloads are built from the rows loaded before the claim: host and node
    # must be those the claim wrote.
    assert [m.args["instance"]["host"] for m in results] == [placed[u][1] for u in fitting]
    with reader() as session:
        nodes_of = dict(session.execute(text(
            "SELECT uuid, node FROM instances WHERE uuid = ANY(:ids)"), {"ids": fitting}).all())
    assert [m.args["instance"]["node"] for m in results] == [nodes_of[u] for u in fitting]
    assert all(m.args["instance"]["node"] for m in results)
    assert accounting_errors() == []


def test_a_multi_create_larger_than_a_batch_is_still_placed_together(configured, nodes):
    tag = "mc2-" + uuid.uuid4().hex[:6]
    nodes(tag, 1)                       # room for 3 of 4: none may be placed
    too_many = instances(4, name="split")
    batcher = batch.Batcher(batch.schedule, size=2, wait=0.05)
    results = batcher.submit_many(too_many, {})
    assert results[0].method == "schedule_failed"
    with reader() as session:
        assert session.scalar(text("SELECT count(*) FROM allocations WHERE instance_uuid "
                                   "= ANY(:ids)"), {"ids": too_many}) == 0
    assert accounting_errors() == []


def _counts(fault):
    """{reason: hosts} of a 'No valid host' fault."""
    assert fault.startswith("No valid host was found. "), fault
    parts = fault[len("No valid host was found. "):].rstrip(".").split(", ")
    found = {}
    for part in parts:
        match = re.fullmatch(r"([\d,]+) (?:hosts? )?(.+)", part)
        assert match, fault
        found[match.group(2).replace("was ", "were ", 1)] = int(match.group(1).replace(",", ""))
    return found


def test_no_valid_host_says_why_for_every_node(configured, nodes):
    """The fault counts each node once, under the first filter it failed:
    those the candidate query left out (counted in SQL) and those dropped in
    Python once the batch had used their room."""
    tag = "why-" + uuid.uuid4().hex[:6]
    nodes(tag, 1)                       # room for 3 singles of BIG vCPUs
    ids = [instances(1, name=f"why-{n}")[0] for n in range(4)]
    results = batch.schedule([(u, {}) for u in ids])
    failed = [m for m in results.values() if m.method == "schedule_failed"]
    assert len(failed) == 1
    counts = _counts(failed[0].args["reason"])
    with reader() as session:
        total = session.scalar(text("SELECT count(*) FROM compute_nodes"))
    assert sum(counts.values()) == total, counts
    # Our node had room for three; the fourth found it (and every other big
    # enough node in this database is disabled) short of vCPUs.
    assert counts.get("had too few free vCPUs", 0) >= 1, counts
    assert set(counts) <= {"were down", "were disabled", "had too few free vCPUs",
                           "had too little RAM", "had too little disk"}, counts
    assert accounting_errors() == []


def test_the_claim_refuses_a_host_that_would_break_a_groups_policy(configured, nodes):
    """Whatever a scheduler's filters saw, the claim re-checks a hard group
    policy against where the members are now, under the group's lock: a
    second anti-affinity member on a member's host, or an affinity member
    on another host, counts as full (the scheduler looks again)."""
    from nova_lite.db import server_groups
    tag = "grp-" + uuid.uuid4().hex[:6]
    first_node, second_node = nodes(tag, 2)
    with transaction() as session:
        anti = server_groups.create(session, "p-batch", "u-batch", "anti", "anti-affinity")
        together = server_groups.create(session, "p-batch", "u-batch", "aff", "affinity")
        ids = {gid: instances(2, name=f"{tag}-{gid}") for gid in (anti.id, together.id)}
        for gid, uuids in ids.items():
            session.add_all([models.RequestSpec(instance_uuid=u, group_id=gid, hints={})
                             for u in uuids])

    def claim(uuid_, node_id, n, group_id):
        with transaction() as session:
            return claims.claim_batch(session, [claims.Placement(
                uuid_, node_id, f"{tag}-{n}", f"{tag}-{n}", 1, 64, 1)],
                group_of={uuid_: group_id})

    for gid in (anti.id, together.id):
        first, second = ids[gid]
        assert list(claim(first, first_node, 0, gid).placed) == [first]
    anti_second, aff_second = ids[anti.id][1], ids[together.id][1]
    assert claim(anti_second, first_node, 0, anti.id).full == {anti_second}
    assert claim(aff_second, second_node, 1, together.id).full == {aff_second}
    assert list(claim(anti_second, second_node, 1, anti.id).placed) == [anti_second]
    assert list(claim(aff_second, first_node, 0, together.id).placed) == [aff_second]
    assert accounting_errors() == []


def test_hints_and_a_forced_host_steer_the_batch(configured, nodes):
    """same_host, different_host and a forced host (an admin's
    availability_zone zone:host) as the API writes them in request_specs."""
    tag = "hint-" + uuid.uuid4().hex[:6]
    nodes(tag, 3)
    [anchor] = instances(1, name=f"{tag}-anchor")
    assert batch.schedule([(anchor, {})])[anchor].method == "build_and_run_instance"
    anchor_host = states_of([anchor])[anchor][1]
    same, different, forced, nowhere = (instances(1, name=f"{tag}-{n}")[0]
                                        for n in ("same", "diff", "forced", "nowhere"))
    forced_host = next(f"{tag}-{n}" for n in range(3) if f"{tag}-{n}" != anchor_host)
    with transaction() as session:
        session.add_all([
            models.RequestSpec(instance_uuid=same, hints={"same_host": [anchor]}),
            models.RequestSpec(instance_uuid=different, hints={"different_host": [anchor]}),
            models.RequestSpec(instance_uuid=forced, hints={}, force_host=forced_host),
            models.RequestSpec(instance_uuid=nowhere, hints={},
                               force_host=f"{tag}-no-such-host")])
    results = batch.schedule([(u, {}) for u in (same, different, forced, nowhere)])
    placed = states_of([same, different, forced])
    assert placed[same] == (states.SPAWNING, anchor_host)
    assert placed[different][0] == states.SPAWNING and placed[different][1] != anchor_host
    assert placed[forced] == (states.SPAWNING, forced_host)
    fault = results[nowhere].args["reason"]
    assert "were not the host it must go to" in fault, fault
    assert accounting_errors() == []
