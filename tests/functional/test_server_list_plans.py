"""Every filter and every sort of GET /servers reaches an index: the
statements nova_lite.api.compute.server_queries builds (for the first page
and for a page after a marker) are EXPLAINed on a database of their own
holding 60,000 servers with their statistics gathered, with sequential
scans priced out. An admin's sorted list of every project's servers must
walk the key's index with no Sort; each filter must use its own index (or,
for a value a large share of the rows hold, the sort's index with the
filter applied as it walks)."""
import types
import uuid

import flask
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from nova_lite.api.compute import server_queries
from nova_lite.db import migrate

ROWS = 60000
# The marker: host-551, u-551, key-2551, p-151, az-51, launched, not
# terminated: midway in each key's (text) order.
MARKER = 32551
T0 = "2026-01-01 00:00:00+00"


@pytest.fixture(scope="module")
def plan_db(postgres, configured):
    """A migrated database with ROWS servers over 200 projects, 2,000 users
    and hosts, and ports holding an address each for the first 5,000."""
    name = f"plans_{uuid.uuid4().hex[:8]}"
    postgres.create_database(name)
    url = postgres.url(name)
    migrate.sync(url, "head")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("SET session_replication_role = replica")   # no quota triggers
        conn.execute(sa.text(f"""
            INSERT INTO instances (uuid, name, project_id, user_id, flavor_id, flavor,
                vcpus, memory_mb, root_gb, ephemeral_gb, vm_state, task_state,
                power_state, key_name, availability_zone, host, node, image_ref,
                metadata, launch_index, config_drive, locked, progress, deleted,
                task_nudges, created_at, updated_at, launched_at, terminated_at,
                deleted_at)
            SELECT gen_random_uuid()::text, 'vm-' || i, 'p-' || (i % 200), 'u-' || (i % 2000),
                   md5((i % 50)::text), '{{}}', 1, 64, 1, 0,
                   (ARRAY['active','stopped','error','building','paused'])[1 + i % 5],
                   CASE WHEN i % 97 = 0 THEN 'rebooting' END, i % 8,
                   CASE WHEN i % 3 > 0 THEN 'key-' || (i % 3000) END,
                   'az-' || (i % 100), 'host-' || (i % 2000), 'node-' || (i % 2000),
                   md5((i % 500)::text), '{{}}', 0, '', i % 1000 = 0, 0, i % 10 = 0, 0,
                   timestamptz '{T0}' + i * interval '1 second',
                   timestamptz '{T0}' + i * interval '2 second',
                   CASE WHEN i % 4 > 0 THEN timestamptz '{T0}' + i * interval '1 second' END,
                   CASE WHEN i % 10 = 0 THEN timestamptz '{T0}' + i * interval '3 second' END,
                   CASE WHEN i % 10 = 0 THEN timestamptz '{T0}' + i * interval '3 second' END
            FROM generate_series(1, {ROWS}) i"""))
        conn.execute(sa.text("""
            INSERT INTO networks (id, name, description, project_id, shared, external,
                                  is_default, bridge, mtu, admin_state_up, status, created_at)
            VALUES ('net', 'net', '', 'p-0', true, false, false, 'nlbr-plan', 1500, true,
                    'ACTIVE', now())"""))
        conn.execute(sa.text("""
            INSERT INTO subnets (id, network_id, name, description, ip_version, cidr,
                                 enable_dhcp, allocation_pools, dns_nameservers, host_routes,
                                 created_at)
            VALUES ('sub', 'net', '', '', 4, '10.0.0.0/8', true, '[]', '[]', '[]', now())"""))
        conn.execute(sa.text("""
            INSERT INTO ports (id, network_id, project_id, name, description, mac_address,
                               device_id, device_owner, admin_state_up, status,
                               port_security_enabled, preserve_on_delete, created_at)
            SELECT 'port-' || n, 'net', 'p-0', '', '', 'fa:16:3e:' || lpad(to_hex(n), 6, '0'),
                   uuid, 'compute:nova', true, 'ACTIVE', true, false, now()
            FROM (SELECT uuid, row_number() OVER () AS n FROM instances LIMIT 5000) s"""))
        conn.execute(sa.text("""
            INSERT INTO ip_allocations (subnet_id, address, port_id, pooled)
            SELECT 'sub', ('10.0.0.0'::inet + i), CASE WHEN i <= 5000 THEN 'port-' || i END,
                   true
            FROM generate_series(1, 60000) i"""))
        # The marker's uuid midway too (the uuids are random otherwise).
        conn.execute(sa.text("UPDATE instances SET uuid = '80000000-0000-4000-8000-"
                             f"000000000000' WHERE name = 'vm-{MARKER}'"))
        conn.exec_driver_sql("ANALYZE")
    yield engine
    engine.dispose()


class Recorder:
    """A session that records the statements page() runs: the marker's
    lookup runs on the plan database, the page statements are only kept."""
    def __init__(self, engine):
        self.engine = engine
        self.statements = []

    def execute(self, statement, *args):
        if statement._limit_clause is not None:         # a page
            self.statements.append(statement)
            return types.SimpleNamespace(all=lambda: [])
        with self.engine.connect() as conn:             # the marker's lookup
            row = conn.execute(statement).first()
        return types.SimpleNamespace(first=lambda: row)


def statements(app, engine, query, admin=True):
    """The page statements of GET /servers?<query>, first and after a marker
    (a server whose values are midway in every sort)."""
    with engine.connect() as conn:
        marker, project = conn.execute(sa.text(
            f"SELECT uuid, project_id FROM instances WHERE name = 'vm-{MARKER}'")).one()
    context = types.SimpleNamespace(is_admin=admin, project_id=project)
    found = []
    for extra in ("", f"&marker={marker}"):
        recorder = Recorder(engine)
        with app.test_request_context(f"/compute/v2.1/servers?{query}{extra}"):
            server_queries.page(recorder, context)
        found += recorder.statements
    return found


def explain(engine, statement):
    compiled = statement.compile(dialect=postgresql.psycopg2.dialect(),
                                 compile_kwargs={"render_postcompile": True})
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        cursor = conn.connection.cursor()
        cursor.execute("EXPLAIN " + compiled.string, compiled.params)
        return "\n".join(r[0] for r in cursor.fetchall())


ORDER = "ix_instances_live_created_at"
SORTS = sorted(k for k in server_queries.SORT_KEYS if k != "uuid")


@pytest.mark.parametrize("direction", ["asc", "desc"])
@pytest.mark.parametrize("key", SORTS)
def test_each_sort_walks_its_index(app, plan_db, key, direction):
    column = server_queries.SORT_KEYS[key].key
    index = "ix_instances_updated_at" if column == "updated_at" \
        else f"ix_instances_live_{column}"
    for statement in statements(app, plan_db, f"all_tenants=1&sort_key={key}&sort_dir={direction}"
                                     "&limit=1000"):
        plan = explain(plan_db, statement)
        assert index in plan, plan
        assert "Sort" not in plan, plan


def test_uuid_sort_walks_the_primary_key(app, plan_db):
    for statement in statements(app, plan_db, "all_tenants=1&sort_key=uuid&sort_dir=asc"):
        plan = explain(plan_db, statement)
        assert "instances_pkey" in plan and "Sort" not in plan, plan


def test_a_projects_list_uses_a_project_index(app, plan_db):
    """A member's list reads its project's rows by index (sorting them is
    the planner's choice: a project's servers are few)."""
    for statement in statements(app, plan_db, "limit=1000", admin=False):
        plan = explain(plan_db, statement)
        assert "ix_instances_project_live" in plan or "ix_instances_live_project_id" in plan
        assert "Seq Scan" not in plan, plan


@pytest.mark.parametrize("query, indexes", [
    ("user_id=u-5", ["ix_instances_live_user_id"]),
    ("key_name=key-5", ["ix_instances_live_key_name"]),
    ("availability_zone=az-5", ["ix_instances_live_availability_zone"]),
    ("vm_state=building&host=host-5", ["ix_instances_live_host"]),
    ("task_state=rebooting", ["ix_instances_live_task_state"]),
    # a common value (a fifth, an eighth of the rows): walking the order's
    # index and stopping at the page's end is the better plan
    ("vm_state=paused", ["ix_instances_live_vm_state", ORDER]),
    ("status=PAUSED", ["ix_instances_live_vm_state", ORDER]),
    ("power_state=3", ["ix_instances_live_power_state", ORDER]),
    ("node=node-5", ["ix_instances_live_node"]),
    ("locked=true", ["ix_instances_locked_live"]),
    ("image=" + "e4da3b7fbbce2345d7772b0674a318d5", ["ix_instances_live_image_ref"]),
    ("flavor=8f14e45fceea167a5a36dedd4bea2543", ["ix_instances_live_flavor_id"]),
    ("project_id=p-5", ["ix_instances_project_live", "ix_instances_live_project_id"]),
    ("reservation_id=r-1", ["ix_instances_reservation_live"]),
    ("changes-since=2026-01-02T10:00:00Z", ["ix_instances_updated_at"]),
    ("changes-before=2026-01-01T00:10:00Z", ["ix_instances_updated_at"]),
    # an anchored regex is an equality to the planner: the btree serves it
    ("name=^vm-4711$", ["ix_instances_live_name_trgm", "ix_instances_live_name"]),
    ("name=m-471", ["ix_instances_live_name_trgm"]),
    # the held addresses: by trigrams, or by port when few are held
    (r"ip=^10\.0\.0\.17$", ["ix_ip_allocations_held_trgm", "ix_ip_allocations_port_id"]),
    ("ip6=fd00:1234", ["ix_ip_allocations_held_trgm", "ix_ip_allocations_port_id"]),
])
def test_each_filter_uses_an_index(app, plan_db, query, indexes):
    for statement in statements(app, plan_db, f"all_tenants=1&{query}&limit=1000"):
        plan = explain(plan_db, statement)
        assert any(index in plan for index in indexes), plan
        assert "Seq Scan on instances" not in plan, plan
