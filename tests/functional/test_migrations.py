"""The schema the migrations build is the one the models describe: nothing
for autogenerate to add, drop or change (so `nova-lite-manage db sync` on a
new install and an upgraded one give the same tables and indexes)."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from nova_lite.db.models import Base
from nova_lite.db.session import get_engine


def test_migrations_match_the_models(configured):
    with get_engine().connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_0006_numbers_existing_networks_and_draws_new_ones_from_the_sequence(postgres):
    """Networks made before 0006 get VNIs 1, 2, ... in creation order; the
    column is then NOT NULL and unique, and new rows draw from the sequence;
    the downgrade removes column and sequence."""
    import uuid

    import sqlalchemy as sa
    from nova_lite.db import migrate

    name = f"mig0006_{uuid.uuid4().hex[:8]}"
    postgres.create_database(name)
    url = postgres.url(name)
    migrate.sync(url, "0005")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for index, when in enumerate(("2026-01-02", "2026-01-01", "2026-01-03")):
                conn.execute(sa.text(
                    "INSERT INTO networks (id, name, description, shared, external, "
                    "is_default, bridge, mtu, admin_state_up, status, created_at) VALUES "
                    "(:id, :name, '', false, false, false, :bridge, 1500, true, 'ACTIVE', "
                    ":when)"), {"id": f"n{index}", "name": f"n{index}",
                                "bridge": f"nlbr-n{index}", "when": when})
        migrate.sync(url, "0006")
        with engine.begin() as conn:
            rows = dict(conn.execute(sa.text("SELECT id, segmentation_id FROM networks")).all())
            assert rows == {"n1": 1, "n0": 2, "n2": 3}
            conn.execute(sa.text(
                "INSERT INTO networks (id, name, description, shared, external, is_default, "
                "bridge, mtu, admin_state_up, status, created_at) VALUES ('n3', 'n3', '', "
                "false, false, false, 'nlbr-n3', 1500, true, 'ACTIVE', now())"))
            assert conn.execute(sa.text(
                "SELECT segmentation_id FROM networks WHERE id = 'n3'")).scalar() == 4
        with engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
            conn.execute(sa.text("UPDATE networks SET segmentation_id = 1 WHERE id = 'n3'"))
        with engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
            conn.execute(sa.text("UPDATE networks SET segmentation_id = NULL WHERE id = 'n3'"))
        migrate.sync(url, "head")
        from alembic import command
        command.downgrade(migrate.alembic_config(url), "0005")
        with engine.begin() as conn:
            assert conn.execute(sa.text(
                "SELECT count(*) FROM pg_class WHERE relname = "
                "'networks_segmentation_id_seq'")).scalar() == 0
        migrate.sync(url, "0006")
    finally:
        engine.dispose()


def test_0008_turns_role_names_into_role_rows_keeping_assignments(postgres):
    """Assignments made before 0008 (role as a name) keep their user, project
    and role, now through roles rows; the built-in roles exist after it; the
    downgrade gives the names back."""
    import uuid

    import sqlalchemy as sa
    from alembic import command

    from nova_lite.db import migrate

    name = f"mig0008_{uuid.uuid4().hex[:8]}"
    postgres.create_database(name)
    url = postgres.url(name)
    migrate.sync(url, "0007")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO projects (id, name, description, domain_id, enabled, created_at) "
                "VALUES ('p1', 'p1', '', 'default', true, now())"))
            conn.execute(sa.text(
                "INSERT INTO users (id, name, password_hash, domain_id, enabled, created_at) "
                "VALUES ('u1', 'u1', 'x', 'default', true, now())"))
            conn.execute(sa.text(
                "INSERT INTO role_assignments (user_id, project_id, role) VALUES "
                "('u1', 'p1', 'member'), ('u1', 'p1', 'auditor')"))
        migrate.sync(url, "0008")
        with engine.begin() as conn:
            names = set(conn.execute(sa.text("SELECT name FROM roles")).scalars())
            assert names == {"admin", "member", "reader", "service", "auditor"}
            assigned = set(conn.execute(sa.text(
                "SELECT a.user_id, a.project_id, r.name FROM role_assignments a "
                "JOIN roles r ON r.id = a.role_id")).all())
            assert assigned == {("u1", "p1", "member"), ("u1", "p1", "auditor")}
            assert conn.execute(sa.text(
                "SELECT failed_auth_count FROM users WHERE id = 'u1'")).scalar() == 0
            # Mid-upgrade, code of the release before writes names and this
            # release writes ids: each sees the other's rows.
            conn.execute(sa.text("DELETE FROM role_assignments"))
            conn.execute(sa.text("INSERT INTO role_assignments (user_id, project_id, role) "
                                 "VALUES ('u1', 'p1', 'reader')"))
            conn.execute(sa.text(
                "INSERT INTO role_assignments (user_id, project_id, role_id) "
                "SELECT 'u1', 'p1', id FROM roles WHERE name = 'member'"))
            assert set(conn.execute(sa.text(
                "SELECT a.role, r.name FROM role_assignments a "
                "JOIN roles r ON r.id = a.role_id")).all()) == {
                ("reader", "reader"), ("member", "member")}
        command.downgrade(migrate.alembic_config(url), "0007")
        with engine.begin() as conn:
            assert set(conn.execute(sa.text(
                "SELECT role FROM role_assignments")).scalars()) == {"reader", "member"}
            assert conn.execute(sa.text(
                "SELECT count(*) FROM pg_class WHERE relname IN ('roles', "
                "'revocation_events', 'application_credentials')")).scalar() == 0
    finally:
        engine.dispose()


def test_0012_counts_servers_per_project_and_the_downgrade_counts_users_again(postgres):
    """0012 keeps each project's counters as they were and drops the users'
    rows of servers (the trigger counts a user's servers only for a user's
    own limit); its downgrade gives 0011's per-user rows back, recounted, and
    0011's triggers count again."""
    import uuid

    import sqlalchemy as sa
    from alembic import command

    from nova_lite.db import migrate

    name = f"mig0012_{uuid.uuid4().hex[:8]}"
    postgres.create_database(name)
    url = postgres.url(name)
    migrate.sync(url, "0011")
    engine = sa.create_engine(url)

    def server(conn, user, vcpus, ram):
        conn.execute(sa.text("""
            INSERT INTO instances (uuid, name, project_id, user_id, flavor_id, flavor,
                vcpus, memory_mb, root_gb, ephemeral_gb, metadata, launch_index,
                config_drive, vm_state, power_state, locked, progress, deleted,
                created_at)
            VALUES (:uuid, 's', 'p1', :user, '1', '{}', :vcpus, :ram, 1, 0, '{}', 0, '',
                    'building', 0, false, 0, false, now())"""),
            {"uuid": str(uuid.uuid4()), "user": user, "vcpus": vcpus, "ram": ram})

    def counters(conn):
        return {tuple(row[:3]): row[3] for row in conn.execute(sa.text(
            "SELECT project_id, user_id, resource, in_use FROM quota_usages "
            "WHERE resource IN ('instances', 'cores', 'ram')"))}

    try:
        with engine.begin() as conn:
            server(conn, "u1", 1, 512)
            server(conn, "u2", 2, 2048)
        with engine.connect() as conn:
            assert counters(conn)[("p1", "u1", "instances")] == 1
        migrate.sync(url, "0012")
        with engine.begin() as conn:
            assert counters(conn) == {("p1", "", "instances"): 2, ("p1", "", "cores"): 3,
                                      ("p1", "", "ram"): 2560}
            server(conn, "u1", 4, 4096)
        with engine.begin() as conn:
            assert counters(conn)[("p1", "", "cores")] == 7
            assert conn.execute(sa.text(
                "SELECT count(*) FROM nl_quota_counted('p1') c JOIN quota_usages u "
                "USING (project_id, user_id, resource) WHERE c.in_use <> u.in_use")
            ).scalar() == 0
        command.downgrade(migrate.alembic_config(url), "0011")
        with engine.begin() as conn:
            assert counters(conn) == {
                ("p1", "", "instances"): 3, ("p1", "", "cores"): 7, ("p1", "", "ram"): 6656,
                ("p1", "u1", "instances"): 2, ("p1", "u1", "cores"): 5,
                ("p1", "u1", "ram"): 4608, ("p1", "u2", "instances"): 1,
                ("p1", "u2", "cores"): 2, ("p1", "u2", "ram"): 2048}
            server(conn, "u2", 1, 512)
        with engine.begin() as conn:
            assert counters(conn)[("p1", "u2", "instances")] == 2
    finally:
        engine.dispose()


def test_0014_counts_a_flavor_change_and_its_downgrade_removes_what_it_made(postgres):
    """0014's trigger moves a project's cores and ram by a server's flavor
    change (and refuses an increase past a limit); the downgrade drops the
    migrations table and the trigger, and a change is no longer counted."""
    import uuid

    import sqlalchemy as sa
    from alembic import command

    from nova_lite.db import migrate

    name = f"mig0014_{uuid.uuid4().hex[:8]}"
    postgres.create_database(name)
    url = postgres.url(name)
    migrate.sync(url, "0014")
    engine = sa.create_engine(url)
    server = str(uuid.uuid4())

    def counters(conn):
        return dict(conn.execute(sa.text(
            "SELECT resource, in_use FROM quota_usages WHERE project_id = 'p1' "
            "AND resource IN ('cores', 'ram')")).all())

    def resize(conn, vcpus, ram):
        conn.execute(sa.text("UPDATE instances SET vcpus = :v, memory_mb = :m "
                             "WHERE uuid = :u"), {"v": vcpus, "m": ram, "u": server})

    try:
        with engine.begin() as conn:
            conn.execute(sa.text("""
                INSERT INTO instances (uuid, name, project_id, user_id, flavor_id, flavor,
                    vcpus, memory_mb, root_gb, ephemeral_gb, metadata, launch_index,
                    config_drive, vm_state, power_state, locked, progress, deleted,
                    created_at)
                VALUES (:uuid, 's', 'p1', 'u1', '1', '{}', 1, 512, 1, 0, '{}', 0, '',
                        'active', 1, false, 0, false, now())"""), {"uuid": server})
        with engine.begin() as conn:
            resize(conn, 2, 2048)
        with engine.connect() as conn:
            assert counters(conn) == {"cores": 2, "ram": 2048}
        with engine.begin() as conn:
            conn.execute(sa.text("SET LOCAL nova_lite.quota_driver = 'db'"))
            conn.execute(sa.text("INSERT INTO quotas (project_id, user_id, resource, "
                                 "hard_limit, updated_at) VALUES ('p1', '', 'cores', 2, "
                                 "now())"))
        with pytest.raises(sa.exc.DBAPIError) as refused:
            with engine.begin() as conn:
                conn.execute(sa.text("SET LOCAL nova_lite.quota_driver = 'db'"))
                resize(conn, 4, 2048)
        assert refused.value.orig.pgcode == "NLQ01"
        command.downgrade(migrate.alembic_config(url), "0013")
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT to_regclass('migrations')")).scalar() is None
            resize(conn, 1, 512)
        with engine.connect() as conn:
            assert counters(conn) == {"cores": 2, "ram": 2048}     # no longer moved
    finally:
        engine.dispose()
