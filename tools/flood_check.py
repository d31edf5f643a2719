"""The flood's accounting checks, by SQL: every list of offending rows empty
means the cloud kept exact count."""
from sqlalchemy import text

CHECKS = {
    "node_usage_differs_from_allocations": """
        SELECT n.host FROM compute_nodes n LEFT JOIN (
            SELECT node_id, sum(vcpus) v, sum(memory_mb) m, sum(disk_gb) d, count(*) c
            FROM allocations GROUP BY node_id) a ON a.node_id = n.id
        WHERE n.vcpus_used <> coalesce(a.v, 0) OR n.memory_mb_used <> coalesce(a.m, 0)
           OR n.local_gb_used <> coalesce(a.d, 0) OR n.running_vms <> coalesce(a.c, 0)""",
    "node_usage_differs_from_instance_flavors": """
        SELECT n.host FROM compute_nodes n LEFT JOIN (
            SELECT host, sum(vcpus) v, sum(memory_mb) m, sum(root_gb + ephemeral_gb) d,
                   count(*) c
            FROM instances WHERE NOT deleted AND host IS NOT NULL GROUP BY host) i
            ON i.host = n.host
        WHERE n.vcpus_used <> coalesce(i.v, 0) OR n.memory_mb_used <> coalesce(i.m, 0)
           OR n.local_gb_used <> coalesce(i.d, 0) OR n.running_vms <> coalesce(i.c, 0)""",
    "node_over_capacity": """
        SELECT host FROM compute_nodes
        WHERE vcpus_used > vcpus * cpu_allocation_ratio
           OR memory_mb_used > memory_mb * ram_allocation_ratio - reserved_host_memory_mb""",
    "instance_with_two_allocations": """
        SELECT instance_uuid FROM allocations GROUP BY 1 HAVING count(*) > 1""",
    "allocation_without_live_placed_instance": """
        SELECT a.instance_uuid FROM allocations a LEFT JOIN instances i
            ON i.uuid = a.instance_uuid
        WHERE i.uuid IS NULL OR i.deleted OR i.host IS NULL""",
    "allocation_differs_from_flavor": """
        SELECT a.instance_uuid FROM allocations a JOIN instances i ON i.uuid = a.instance_uuid
        WHERE a.vcpus <> i.vcpus OR a.memory_mb <> i.memory_mb
           OR a.disk_gb <> i.root_gb + i.ephemeral_gb""",
    "ip_address_used_twice": """
        SELECT subnet_id, address FROM ip_allocations GROUP BY 1, 2 HAVING count(*) > 1""",
    # A port is a server's by device_id (device_owner compute:<az>); a
    # server that is gone (deleted, or never was) holds none, and no address.
    "port_of_deleted_server": """
        SELECT p.id, p.device_id FROM ports p LEFT JOIN instances i ON i.uuid = p.device_id
        WHERE p.device_owner LIKE 'compute:%' AND p.device_id <> ''
          AND (i.uuid IS NULL OR i.deleted)""",
    "address_of_deleted_server": """
        SELECT a.address, p.device_id FROM ip_allocations a JOIN ports p ON p.id = a.port_id
        LEFT JOIN instances i ON i.uuid = p.device_id
        WHERE p.device_owner LIKE 'compute:%' AND p.device_id <> ''
          AND (i.uuid IS NULL OR i.deleted)""",
    "address_held_without_port": """
        SELECT a.subnet_id, a.address FROM ip_allocations a
        WHERE a.port_id IS NULL AND NOT a.pooled""",
    # The quota counters the triggers keep (migrations 0011, 0012) against a recount
    # of the rows (what ``nova-lite-manage quota sync`` would correct).
    "quota_usage_differs_from_rows": """
        SELECT coalesce(c.project_id, u.project_id), coalesce(c.user_id, u.user_id),
               coalesce(c.resource, u.resource), u.in_use, c.in_use
        FROM nl_quota_counted(NULL) c FULL JOIN quota_usages u
          ON (u.project_id, u.user_id, u.resource) = (c.project_id, c.user_id, c.resource)
        WHERE coalesce(u.in_use, 0) <> coalesce(c.in_use, 0)""",
    # Server groups (--anti-affinity): a hard policy broken by a placement.
    "anti_affinity_group_with_two_members_on_a_host": """
        SELECT g.uuid, i.host FROM instance_groups g
        JOIN request_specs r ON r.group_id = g.id
        JOIN instances i ON i.uuid = r.instance_uuid AND NOT i.deleted AND i.host IS NOT NULL
        WHERE g.policy = 'anti-affinity'
        GROUP BY g.uuid, i.host, g.rules
        HAVING count(*) > coalesce((g.rules->>'max_server_per_host')::int, 1)""",
    "affinity_group_on_two_hosts": """
        SELECT g.uuid FROM instance_groups g
        JOIN request_specs r ON r.group_id = g.id
        JOIN instances i ON i.uuid = r.instance_uuid AND NOT i.deleted AND i.host IS NOT NULL
        WHERE g.policy = 'affinity' GROUP BY g.uuid HAVING count(DISTINCT i.host) > 1""",
}
NEEDS = {"quota_usage_differs_from_rows": {"quota_usages"},
         "anti_affinity_group_with_two_members_on_a_host": {"instance_groups"},
         "affinity_group_on_two_hosts": {"instance_groups"},
         "ip_address_used_twice": {"ip_allocations"},
         "port_of_deleted_server": {"ports"},
         "address_of_deleted_server": {"ports", "ip_allocations"},
         "address_held_without_port": {"ip_allocations"}}


def verify(engine):
    """{check: offending rows (up to 20)}; every list empty means exact."""
    found = {}
    with engine.connect() as conn:
        tables = {r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))}
        for name, query in CHECKS.items():
            if not NEEDS.get(name, set()) <= tables:
                found[name] = []
                continue
            rows = conn.execute(text(query + " LIMIT 20")).all()
            found[name] = [list(map(str, r)) for r in rows]
    return found
