"""Build and delete reports for many instances at once (conductor.build_reports,
db/build_results.py): a fixed number of statements whatever the batch size,
a compare-and-set per instance (late and repeated reports change nothing),
orphans found, claims released exactly."""
import uuid

from sqlalchemy import text

from nova_lite.conductor import build_reports
from nova_lite.db import actions, claims
from nova_lite.db import instances as instance_db
from nova_lite.db.session import reader, transaction
from nova_lite.objects import states
from tests.fixtures.nodes import BIG, accounting_errors, counting, instances


def placed_on(node_rows, uuids):
    """Claim each instance on the nodes, round robin; {uuid: host}."""
    placements = [claims.Placement(u, node_rows[i % len(node_rows)][0],
                                   node_rows[i % len(node_rows)][1],
                                   node_rows[i % len(node_rows)][1], BIG, 64, 1)
                  for i, u in enumerate(uuids)]
    with transaction() as session:
        outcome = claims.claim_batch(session, placements)
    assert set(outcome.placed) == set(uuids)
    return outcome.placed


def states_of(uuids):
    with reader() as session:
        return {r.uuid: r for r in session.execute(text(
            "SELECT uuid, vm_state, task_state, power_state, deleted, host, launched_at "
            "FROM instances WHERE uuid = ANY(:u)"), {"u": list(uuids)})}


def open_actions(uuids, action):
    with reader() as session:
        return session.execute(text(
            "SELECT count(*) FROM instance_actions WHERE instance_uuid = ANY(:u) "
            "AND action = :a AND finish_time IS NULL"), {"u": list(uuids), "a": action}
        ).scalar()


def events(uuids, name):
    with reader() as session:
        return session.execute(text(
            "SELECT count(*) FROM instance_action_events e JOIN instance_actions a "
            "ON a.id = e.action_id WHERE a.instance_uuid = ANY(:u) AND e.event = :n"),
            {"u": list(uuids), "n": name}).scalar()


def test_a_batch_of_reports_builds_and_deletes_exactly(configured, nodes):
    tag = f"br-{uuid.uuid4().hex[:6]}"
    node_ids = nodes(tag, 4)
    node_rows = [(node_id, f"{tag}-{n}") for n, node_id in enumerate(node_ids)]
    uuids = instances(8)
    hosts = placed_on(node_rows, uuids)
    gone, moved = uuids[0], uuids[1]
    with transaction() as session:       # deleted while it was being built
        instance_db.mark_deleted(session, gone)
    reports = [{"instance_uuid": u, "host": hosts[u], "power_state": states.RUNNING}
               for u in uuids]
    reports[1]["host"] = "some-other-host"       # a report from where it does not live

    with counting() as statements:
        active = build_reports.spawned({}, reports)
    writes = [s.split(None, 1)[0].upper() for s in statements
              if s.split(None, 1)[0].upper() not in ("BEGIN", "COMMIT", "SELECT")]
    assert writes == ["UPDATE", "INSERT", "UPDATE", "UPDATE"], \
        "a fixed number of statements for the whole batch"
    assert set(active) == set(uuids[2:])
    now = states_of(uuids)
    assert all(now[u].vm_state == states.ACTIVE and now[u].task_state is None
               and now[u].power_state == states.RUNNING and now[u].launched_at
               for u in uuids[2:])
    assert now[moved].task_state == states.SPAWNING, "a foreign host's report is ignored"
    assert now[gone].deleted
    assert events(uuids, "compute_build_and_run_instance") == 6
    assert open_actions(uuids[2:], "create") == 0
    assert open_actions([moved], "create") == 1

    # Redelivered: nothing changes, no second event.
    assert build_reports.spawned({}, reports) == {}
    assert events(uuids, "compute_build_and_run_instance") == 6

    live = uuids[1:]
    with transaction() as session:
        for u in live:
            actions.start(session, u, "delete", {"request_id": "req-br"})
    terminated = build_reports.terminated(
        {}, [{"instance_uuid": u, "host": hosts[u]} for u in live]
        + [{"instance_uuid": uuids[2], "host": "some-other-host"}])
    assert sorted(terminated) == sorted(live)
    assert all(r.deleted and r.vm_state == states.DELETED for r in states_of(live).values())
    assert open_actions(live, "delete") == 0
    assert build_reports.terminated({}, [{"instance_uuid": u, "host": hosts[u]}
                                         for u in live]) == []
    with reader() as session:
        used = session.execute(text(
            "SELECT sum(vcpus_used), sum(running_vms) FROM compute_nodes "
            "WHERE host LIKE :t"), {"t": f"{tag}-%"}).one()
        held = session.execute(text("SELECT count(*) FROM allocations "
                                    "WHERE instance_uuid = ANY(:u)"), {"u": uuids}).scalar()
    assert tuple(used) == (0, 0) and held == 0, "every claim given back exactly once"
    assert accounting_errors() == []
