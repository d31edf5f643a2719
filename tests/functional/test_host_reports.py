"""The batched host report (conductor.host_reports): 500 hosts registered and
heartbeating in one transaction of two statements; an unchanged report does
not rewrite a node; usage columns are never touched."""
import uuid

from sqlalchemy import text

from nova_lite.compute.virt.sim import fleet
from nova_lite.conductor import host_reports
from nova_lite.db.session import reader, transaction
from tests.fixtures.nodes import counting


def rows(prefix):
    with reader() as session:
        return {r.host: r for r in session.execute(text(
            "SELECT n.host, n.vcpus, n.memory_mb, n.vcpus_used, n.updated_at, s.report_count, "
            "s.last_seen_up, s.topic FROM compute_nodes n JOIN services s ON s.host = n.host "
            "AND s.\"binary\" = 'nova-lite-compute' WHERE n.host LIKE :p"),
            {"p": prefix + "%"})}


def test_five_hundred_hosts_report_in_two_statements(configured):
    prefix = f"hr-{uuid.uuid4().hex[:6]}-"
    names = fleet.host_names(500, prefix, 0)
    managers = {n: type("M", (), {"driver": fleet.SimDriver(n)})() for n in names}
    reports = [{"host": n, "resources": fleet.resources(managers[n])} for n in names]
    with counting() as statements:
        host_reports.compute_nodes_update({}, reports)
    kinds = [s.split(None, 1)[0].upper() for s in statements]
    assert [k for k in kinds if k not in ("BEGIN", "COMMIT")] == ["INSERT", "INSERT"]
    first = rows(prefix)
    assert len(first) == 500
    one = first[names[7]]
    assert (one.vcpus, one.memory_mb, one.vcpus_used, one.report_count, one.topic) == \
        (32, 131072, 0, 1, f"compute.{names[7]}")
    with transaction() as session:        # a claim moved usage meanwhile
        session.execute(text("UPDATE compute_nodes SET vcpus_used = 3 WHERE host = :h"),
                        {"h": names[7]})
    host_reports.compute_nodes_update({}, reports)
    second = rows(prefix)
    assert second[names[7]].vcpus_used == 3, "a report never touches usage"
    assert second[names[7]].report_count == 2
    assert second[names[7]].last_seen_up > one.last_seen_up
    assert second[names[7]].updated_at == one.updated_at, "unchanged: node row not rewritten"
    reports[0]["resources"]["vcpus"] = 64
    host_reports.compute_nodes_update({}, reports[:1])
    assert rows(prefix)[names[0]].vcpus == 64
    with transaction() as session:       # leave the shared database as exact as we found it
        session.execute(text("UPDATE compute_nodes SET vcpus_used = 0 WHERE host = :h"),
                        {"h": names[7]})
        session.execute(text("UPDATE services SET disabled = true WHERE host LIKE :p"),
                        {"p": prefix + "%"})


def test_one_hosts_unchanged_report_leaves_its_node_row_alone(configured):
    from nova_lite.db import services
    host = f"hr1-{uuid.uuid4().hex[:6]}"
    report = fleet.resources(type("M", (), {"driver": fleet.SimDriver(host)})())

    def node():
        with reader() as session:
            return session.execute(text("SELECT vcpus, updated_at, xmin::text AS x "
                                        "FROM compute_nodes WHERE host = :h"),
                                   {"h": host}).one()

    with transaction() as session:
        services.upsert_compute_node(session, host, report)
    first = node()
    with transaction() as session:
        services.upsert_compute_node(session, host, report)
    assert node() == first, "an unchanged report writes no new row version"
    with transaction() as session:
        services.upsert_compute_node(session, host, {**report, "vcpus": 48})
    assert node().vcpus == 48 and node().updated_at > first.updated_at
