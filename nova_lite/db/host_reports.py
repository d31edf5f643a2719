"""Reports of many compute hosts in two statements: their compute node rows
(written only where something changed, so a heartbeat of an unchanged host
leaves the row, and the claims that lock it, alone) and their heartbeats.

Rows are written in host order, so two batches never lock each other's rows
in opposite orders."""
from sqlalchemy import text

from nova_lite.db import models

NODE_COLUMNS = ("hypervisor_hostname", "hypervisor_type", "hypervisor_version", "host_ip",
                "vcpus", "memory_mb", "local_gb", "cpu_allocation_ratio",
                "ram_allocation_ratio", "disk_allocation_ratio", "reserved_host_memory_mb",
                "reserved_host_disk_mb")
_TYPES = {"hypervisor_version": "integer", "vcpus": "integer", "memory_mb": "integer",
          "local_gb": "integer", "cpu_allocation_ratio": "float8",
          "ram_allocation_ratio": "float8", "disk_allocation_ratio": "float8",
          "reserved_host_memory_mb": "integer", "reserved_host_disk_mb": "integer"}


def _node_sql():
    columns = ", ".join(NODE_COLUMNS)
    arrays = ", ".join(f"CAST(:{c} AS {_TYPES.get(c, 'varchar')}[])" for c in NODE_COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in NODE_COLUMNS)
    changed = " OR ".join(f"compute_nodes.{c} IS DISTINCT FROM excluded.{c}"
                          for c in NODE_COLUMNS)
    return text(f"""
INSERT INTO compute_nodes (host, uuid, created_at, updated_at, vcpus_used, memory_mb_used,
                           local_gb_used, running_vms, {columns})
SELECT r.host, r.uuid, :now, :now, 0, 0, 0, 0, {", ".join("r." + c for c in NODE_COLUMNS)}
FROM unnest(CAST(:host AS varchar[]), CAST(:uuid AS varchar[]), {arrays})
     AS r(host, uuid, {columns})
ORDER BY r.host
ON CONFLICT (host) DO UPDATE SET {updates}, updated_at = excluded.updated_at
WHERE {changed}""")


_NODES = _node_sql()
_HEARTBEATS = text("""
INSERT INTO services (host, "binary", topic, last_seen_up, report_count, created_at,
                      updated_at, disabled, forced_down)
SELECT h.host, :binary, h.topic, :now, 1, :now, :now, false, false
FROM unnest(CAST(:host AS varchar[]), CAST(:topic AS varchar[])) AS h(host, topic)
ORDER BY h.host
ON CONFLICT (host, "binary") DO UPDATE SET last_seen_up = excluded.last_seen_up,
    updated_at = excluded.updated_at, topic = excluded.topic,
    report_count = services.report_count + 1""")


def upsert_compute_nodes(session, reports):
    """``reports``: [{"host": h, "resources": {...}}] as compute_node_update
    carries them; usage columns are never touched (only claims move them)."""
    reports = sorted(reports, key=lambda r: r["host"])
    params = {"now": models.utcnow(), "host": [r["host"] for r in reports],
              "uuid": [r["resources"].get("uuid") or models.new_uuid() for r in reports]}
    for column in NODE_COLUMNS:
        params[column] = [r["resources"].get(column) for r in reports]
    session.execute(_NODES, params)


def heartbeats(session, hosts, binary, topics):
    hosts = sorted(hosts)
    session.execute(_HEARTBEATS, {"now": models.utcnow(), "binary": binary, "host": hosts,
                                  "topic": [topics(h) for h in hosts]})
