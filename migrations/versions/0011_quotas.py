"""quotas: limits (quotas, quota_classes) and usage counted by the database

quota_usages holds, per project (user_id '') and per user of a project, how
much of each resource is in use. Deferred constraint triggers on the counted
tables move it in the transaction that makes or removes the rows, at commit
(so the usage row is locked only for the commit's last moment), and refuse
an increase past the limit with SQLSTATE NLQ01 (the API answers 403 or 409).
Servers (instances, cores, ram) count from their insert until their soft
delete; networks, subnets, ports (but the network:* ones: floating IPs' and
DHCP ports), floating IPs, security groups and their rules count while their
row exists. Key pairs are counted by the API (nova_lite.db.quotas.consume):
they have no project.

The limit is the user's (if one is set), else the project's, else the
default class's, else the process's [quota] option, which every nova-lite
connection carries as the setting nova_lite.quota_<resource>
(nova_lite.db.quotas.connect_options); nova_lite.quota_driver other than
'db' (or unset: psql, a foreign tool) counts without checking.

nl_quota_counted(project) is the truth from the rows, for
``nova-lite-manage quota sync`` and for this migration's first count.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

FUNCTIONS = r"""
-- The limit of p_resource for the project (p_user '') or for a user of it
-- (NULL unless one was set for that user); NULL: none known (not checked).
CREATE FUNCTION nl_quota_limit(p_project varchar, p_user varchar, p_resource varchar)
RETURNS bigint AS $$
DECLARE
    lim bigint;
BEGIN
    SELECT hard_limit INTO lim FROM quotas
    WHERE project_id = p_project AND user_id = p_user AND resource = p_resource;
    IF FOUND OR p_user <> '' THEN
        RETURN lim;
    END IF;
    SELECT hard_limit INTO lim FROM quota_classes
    WHERE class_name = 'default' AND resource = p_resource;
    IF FOUND THEN
        RETURN lim;
    END IF;
    RETURN NULLIF(current_setting('nova_lite.quota_' || p_resource, true), '')::bigint;
END $$ LANGUAGE plpgsql STABLE;

-- Add p_delta to the usage row (made on first use); an increase past the
-- limit raises NLQ01 with the figures as JSON in DETAIL.
CREATE FUNCTION nl_quota_use(p_project varchar, p_user varchar, p_resource varchar,
                             p_delta bigint) RETURNS void AS $$
DECLARE
    used bigint;
    lim bigint;
BEGIN
    IF p_project IS NULL OR p_delta = 0 THEN
        RETURN;
    END IF;
    UPDATE quota_usages SET in_use = in_use + p_delta
    WHERE project_id = p_project AND user_id = p_user AND resource = p_resource
    RETURNING in_use INTO used;
    IF NOT FOUND THEN
        INSERT INTO quota_usages (project_id, user_id, resource, in_use)
        VALUES (p_project, p_user, p_resource, 0) ON CONFLICT DO NOTHING;
        UPDATE quota_usages SET in_use = in_use + p_delta
        WHERE project_id = p_project AND user_id = p_user AND resource = p_resource
        RETURNING in_use INTO used;
    END IF;
    IF p_delta > 0 AND current_setting('nova_lite.quota_driver', true) = 'db' THEN
        lim := nl_quota_limit(p_project, p_user, p_resource);
        IF lim >= 0 AND used > lim THEN
            RAISE EXCEPTION 'Quota exceeded for resources: [''%'']', p_resource
                USING ERRCODE = 'NLQ01',
                      DETAIL = json_build_object(
                          'resource', p_resource, 'project_id', p_project,
                          'user_id', p_user, 'requested', p_delta,
                          'in_use', used - p_delta, 'limit', lim)::text;
        END IF;
    END IF;
END $$ LANGUAGE plpgsql;

-- A server counts from its insert until its soft delete (or a hard delete
-- of a live row): project rows first, then the user's (one lock order).
CREATE FUNCTION nl_quota_instances() RETURNS trigger AS $$
DECLARE
    row_ instances;
    sign int;
    owner varchar;
BEGIN
    IF TG_OP = 'INSERT' THEN row_ := NEW; sign := 1; ELSE row_ := OLD; sign := -1; END IF;
    FOREACH owner IN ARRAY ARRAY['', row_.user_id] LOOP
        PERFORM nl_quota_use(row_.project_id, owner, 'instances', sign);
        PERFORM nl_quota_use(row_.project_id, owner, 'cores', sign * row_.vcpus);
        PERFORM nl_quota_use(row_.project_id, owner, 'ram', sign * row_.memory_mb);
    END LOOP;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

-- Other counted tables: one of TG_ARGV[0] per row of the project.
CREATE FUNCTION nl_quota_rows() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM nl_quota_use(NEW.project_id, '', TG_ARGV[0], 1);
    ELSE
        PERFORM nl_quota_use(OLD.project_id, '', TG_ARGV[0], -1);
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

-- What the rows say is in use (all projects, or one), for a recount.
CREATE FUNCTION nl_quota_counted(p_project varchar)
RETURNS TABLE (project_id varchar, user_id varchar, resource varchar, in_use bigint) AS $$
    WITH live AS (
        SELECT i.project_id, i.user_id, i.vcpus, i.memory_mb FROM instances i
        WHERE NOT i.deleted AND (p_project IS NULL OR i.project_id = p_project)
    ), owners AS (
        SELECT project_id, '' AS owner, vcpus, memory_mb FROM live
        UNION ALL
        SELECT project_id, user_id, vcpus, memory_mb FROM live
    )
    SELECT project_id, owner, r.resource, r.amount FROM (
        SELECT project_id, owner, count(*) AS n, sum(vcpus) AS c, sum(memory_mb) AS m
        FROM owners GROUP BY project_id, owner) t
    CROSS JOIN LATERAL (VALUES ('instances', t.n), ('cores', t.c), ('ram', t.m))
        AS r(resource, amount)
    UNION ALL
    SELECT c.project_id, '', c.resource, count(*) FROM (
        SELECT n.project_id, 'network' AS resource FROM networks n
        UNION ALL SELECT s.project_id, 'subnet' FROM subnets s
        UNION ALL SELECT p.project_id, 'port' FROM ports p
                  WHERE p.device_owner NOT LIKE 'network:%'
        UNION ALL SELECT f.project_id, 'floatingip' FROM floating_ips f
        UNION ALL SELECT g.project_id, 'security_group' FROM security_groups g
        UNION ALL SELECT r.project_id, 'security_group_rule' FROM security_group_rules r
    ) c
    WHERE c.project_id IS NOT NULL AND (p_project IS NULL OR c.project_id = p_project)
    GROUP BY c.project_id, c.resource
    UNION ALL
    SELECT '', k.user_id, 'key_pairs', count(*) FROM key_pairs k
    WHERE p_project IS NULL GROUP BY k.user_id
$$ LANGUAGE sql STABLE;
"""

# table, resource, WHEN of the insert, WHEN of the removal (event, condition)
COUNTED = (
    ("networks", "network"),
    ("subnets", "subnet"),
    ("floating_ips", "floatingip"),
    ("security_groups", "security_group"),
    ("security_group_rules", "security_group_rule"),
)

TRIGGERS = """
CREATE CONSTRAINT TRIGGER nl_quota_instances_created AFTER INSERT ON instances
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NOT NEW.deleted)
    EXECUTE FUNCTION nl_quota_instances();
CREATE CONSTRAINT TRIGGER nl_quota_instances_deleted AFTER UPDATE OF deleted ON instances
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.deleted AND NOT OLD.deleted)
    EXECUTE FUNCTION nl_quota_instances();
CREATE CONSTRAINT TRIGGER nl_quota_instances_purged AFTER DELETE ON instances
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NOT OLD.deleted)
    EXECUTE FUNCTION nl_quota_instances();
CREATE CONSTRAINT TRIGGER nl_quota_ports_created AFTER INSERT ON ports
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.device_owner NOT LIKE 'network:%')
    EXECUTE FUNCTION nl_quota_rows('port');
CREATE CONSTRAINT TRIGGER nl_quota_ports_deleted AFTER DELETE ON ports
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.device_owner NOT LIKE 'network:%')
    EXECUTE FUNCTION nl_quota_rows('port');
""" + "".join(f"""
CREATE CONSTRAINT TRIGGER nl_quota_{table}_created AFTER INSERT ON {table}
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION nl_quota_rows('{resource}');
CREATE CONSTRAINT TRIGGER nl_quota_{table}_deleted AFTER DELETE ON {table}
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION nl_quota_rows('{resource}');
""" for table, resource in COUNTED)

DROP = """
DROP TRIGGER IF EXISTS nl_quota_instances_created ON instances;
DROP TRIGGER IF EXISTS nl_quota_instances_deleted ON instances;
DROP TRIGGER IF EXISTS nl_quota_instances_purged ON instances;
DROP TRIGGER IF EXISTS nl_quota_ports_created ON ports;
DROP TRIGGER IF EXISTS nl_quota_ports_deleted ON ports;
""" + "".join(f"""
DROP TRIGGER IF EXISTS nl_quota_{table}_created ON {table};
DROP TRIGGER IF EXISTS nl_quota_{table}_deleted ON {table};
""" for table, _ in COUNTED) + """
DROP FUNCTION IF EXISTS nl_quota_counted(varchar);
DROP FUNCTION IF EXISTS nl_quota_rows();
DROP FUNCTION IF EXISTS nl_quota_instances();
DROP FUNCTION IF EXISTS nl_quota_use(varchar, varchar, varchar, bigint);
DROP FUNCTION IF EXISTS nl_quota_limit(varchar, varchar, varchar);
"""


def upgrade():
    op.create_table(
        'quotas',
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('user_id', sa.String(length=255), nullable=False),
        sa.Column('resource', sa.String(length=255), nullable=False),
        sa.Column('hard_limit', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('project_id', 'user_id', 'resource'),
    )
    op.create_table(
        'quota_classes',
        sa.Column('class_name', sa.String(length=255), nullable=False),
        sa.Column('resource', sa.String(length=255), nullable=False),
        sa.Column('hard_limit', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('class_name', 'resource'),
    )
    op.create_table(
        'quota_usages',
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('user_id', sa.String(length=255), nullable=False),
        sa.Column('resource', sa.String(length=255), nullable=False),
        sa.Column('in_use', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('project_id', 'user_id', 'resource'),
    )
    op.execute(FUNCTIONS)
    op.execute(TRIGGERS)
    # What exists already: counted once, from the rows (tables locked so that
    # nothing is made or removed between the count and the triggers).
    op.execute("LOCK TABLE instances, ports, networks, subnets, floating_ips, "
               "security_groups, security_group_rules, key_pairs IN SHARE MODE")
    op.execute("INSERT INTO quota_usages (project_id, user_id, resource, in_use) "
               "SELECT * FROM nl_quota_counted(NULL)")


def downgrade():
    op.execute(DROP)
    op.drop_table('quota_usages')
    op.drop_table('quota_classes')
    op.drop_table('quotas')
