"""quota usage: servers counted per project only, half the statements per server

0011 moved six usage rows per server (instances, cores, RAM for the project
and again for its user), each with its own UPDATE and two or three lookups
of the limit: about twenty statements in the triggers of every create. Here:

- nl_quota_add(project, resources[], deltas[]) moves a project's usage rows
  of several resources in the order given (every caller names a server's
  cores, instances and RAM in that order, so two transactions cannot
  deadlock over them), each with one UPDATE by primary key and its limit
  (the project's, the default class's, the [quota] option) looked up for an
  increase. Plain statements that PL/pgSQL plans once: one statement doing
  it all (a CTE locking, updating and joining the limits) measured dearer
  than 0011 itself, as it was planned again on every call
  (tools/bench_quota.py).
- A user's servers are no longer counted in rows of their own: Nova's
  per-user limits are rare, so a server's trigger looks for one (one index
  probe of quotas) and only if the user has one counts the user's live
  servers, under the project's usage rows that the transaction holds
  already. Racing creates of one project queue on those rows, so the count
  sees every committed server (READ COMMITTED: each statement its own
  snapshot). nova_lite.db.quotas.usage counts a user's servers the same way
  for the API's per-user views.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08
"""
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

FUNCTIONS = r"""
-- Add p_deltas[i] to the project's usage of p_resources[i], in the order
-- given (callers name them in one order: no deadlock between two of them);
-- an increase past the limit raises NLQ01 with the figures as JSON in
-- DETAIL. Plain statements by primary key: PL/pgSQL keeps their plans.
CREATE FUNCTION nl_quota_add(p_project varchar, p_resources varchar[], p_deltas bigint[])
RETURNS void AS $$
DECLARE
    checking boolean;
    resource_ varchar;
    delta bigint;
    used bigint;
    lim bigint;
BEGIN
    IF p_project IS NULL THEN
        RETURN;
    END IF;
    checking := current_setting('nova_lite.quota_driver', true) = 'db';
    FOR i IN 1 .. cardinality(p_resources) LOOP
        resource_ := p_resources[i];
        delta := p_deltas[i];
        UPDATE quota_usages SET in_use = in_use + delta
        WHERE project_id = p_project AND user_id = '' AND resource = resource_
        RETURNING in_use INTO used;
        IF NOT FOUND THEN                   -- first use: make the row
            INSERT INTO quota_usages (project_id, user_id, resource, in_use)
            VALUES (p_project, '', resource_, 0) ON CONFLICT DO NOTHING;
            UPDATE quota_usages SET in_use = in_use + delta
            WHERE project_id = p_project AND user_id = '' AND resource = resource_
            RETURNING in_use INTO used;
        END IF;
        IF checking AND delta > 0 THEN
            SELECT hard_limit INTO lim FROM quotas
            WHERE project_id = p_project AND user_id = '' AND resource = resource_;
            IF NOT FOUND THEN
                SELECT hard_limit INTO lim FROM quota_classes
                WHERE class_name = 'default' AND resource = resource_;
                IF NOT FOUND THEN
                    lim := NULLIF(current_setting('nova_lite.quota_' || resource_, true),
                                  '')::bigint;
                END IF;
            END IF;
            IF lim >= 0 AND used > lim THEN
                RAISE EXCEPTION 'Quota exceeded for resources: [''%'']', resource_
                    USING ERRCODE = 'NLQ01',
                          DETAIL = json_build_object(
                              'resource', resource_, 'project_id', p_project,
                              'user_id', '', 'requested', delta,
                              'in_use', used - delta, 'limit', lim)::text;
            END IF;
        END IF;
    END LOOP;
END $$ LANGUAGE plpgsql;

-- A user's own limits on servers, if the user has any: the user's live
-- servers counted (the caller holds the project's usage rows).
CREATE FUNCTION nl_quota_user_check(p_project varchar, p_user varchar,
                                    p_vcpus bigint, p_ram bigint) RETURNS void AS $$
DECLARE
    lim record;
    counted boolean := false;
    n bigint; c bigint; m bigint;
    used bigint; requested bigint;
BEGIN
    IF current_setting('nova_lite.quota_driver', true) IS DISTINCT FROM 'db' THEN
        RETURN;
    END IF;
    FOR lim IN SELECT q.resource, q.hard_limit FROM quotas q
               WHERE q.project_id = p_project AND q.user_id = p_user
                 AND q.resource IN ('cores', 'instances', 'ram') AND q.hard_limit >= 0
               ORDER BY q.resource LOOP
        IF NOT counted THEN
            SELECT count(*), coalesce(sum(i.vcpus), 0), coalesce(sum(i.memory_mb), 0)
            INTO n, c, m FROM instances i
            WHERE i.user_id = p_user AND i.project_id = p_project AND NOT i.deleted;
            counted := true;
        END IF;
        used := CASE lim.resource WHEN 'instances' THEN n WHEN 'cores' THEN c ELSE m END;
        requested := CASE lim.resource WHEN 'instances' THEN 1 WHEN 'cores' THEN p_vcpus
                     ELSE p_ram END;
        IF used > lim.hard_limit AND requested > 0 THEN
            RAISE EXCEPTION 'Quota exceeded for resources: [''%'']', lim.resource
                USING ERRCODE = 'NLQ01',
                      DETAIL = json_build_object(
                          'resource', lim.resource, 'project_id', p_project,
                          'user_id', p_user, 'requested', requested,
                          'in_use', used - requested, 'limit', lim.hard_limit)::text;
        END IF;
    END LOOP;
END $$ LANGUAGE plpgsql;

-- A server counts from its insert until its soft delete (or a hard delete
-- of a live row).
CREATE OR REPLACE FUNCTION nl_quota_instances() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM nl_quota_add(NEW.project_id, ARRAY['cores', 'instances', 'ram']::varchar[],
                             ARRAY[NEW.vcpus, 1, NEW.memory_mb]::bigint[]);
        PERFORM nl_quota_user_check(NEW.project_id, NEW.user_id, NEW.vcpus, NEW.memory_mb);
    ELSE
        PERFORM nl_quota_add(OLD.project_id, ARRAY['cores', 'instances', 'ram']::varchar[],
                             ARRAY[-OLD.vcpus, -1, -OLD.memory_mb]::bigint[]);
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

-- Other counted tables: one of TG_ARGV[0] per row of the project.
CREATE OR REPLACE FUNCTION nl_quota_rows() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM nl_quota_add(NEW.project_id, ARRAY[TG_ARGV[0]]::varchar[], ARRAY[1]::bigint[]);
    ELSE
        PERFORM nl_quota_add(OLD.project_id, ARRAY[TG_ARGV[0]]::varchar[], ARRAY[-1]::bigint[]);
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

-- What the rows say is in use (all projects, or one), for a recount:
-- per project, and key pairs per user.
CREATE OR REPLACE FUNCTION nl_quota_counted(p_project varchar)
RETURNS TABLE (project_id varchar, user_id varchar, resource varchar, in_use bigint) AS $$
    SELECT t.project_id, '', r.resource, r.amount FROM (
        SELECT i.project_id, count(*) AS n, sum(i.vcpus) AS c, sum(i.memory_mb) AS m
        FROM instances i
        WHERE NOT i.deleted AND (p_project IS NULL OR i.project_id = p_project)
        GROUP BY i.project_id) t
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

DROP FUNCTION nl_quota_use(varchar, varchar, varchar, bigint);
DROP FUNCTION nl_quota_limit(varchar, varchar, varchar);
"""


def _revision_0011():
    """Migration 0011's module (its functions, for the downgrade)."""
    import importlib.util
    import os
    path = os.path.join(os.path.dirname(__file__), "0011_quotas.py")
    spec = importlib.util.spec_from_file_location("nova_lite_migration_0011", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade():
    # The counters stay still while the functions change and the users'
    # rows of servers go (nothing counted twice or missed meanwhile).
    op.execute("LOCK TABLE quota_usages IN EXCLUSIVE MODE")
    op.execute(FUNCTIONS)
    op.execute("DELETE FROM quota_usages WHERE user_id <> '' AND project_id <> ''")


def downgrade():
    old = _revision_0011()
    op.execute("LOCK TABLE instances, ports, networks, subnets, floating_ips, "
               "security_groups, security_group_rules, key_pairs, quota_usages "
               "IN SHARE ROW EXCLUSIVE MODE")
    # The triggers keep their functions (replaced in place); 0011's helpers
    # come back and 0012's go.
    op.execute(old.FUNCTIONS.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
    op.execute("""
        DROP FUNCTION nl_quota_user_check(varchar, varchar, bigint, bigint);
        DROP FUNCTION nl_quota_add(varchar, varchar[], bigint[]);""")
    op.execute("DELETE FROM quota_usages")
    op.execute("INSERT INTO quota_usages (project_id, user_id, resource, in_use) "
               "SELECT * FROM nl_quota_counted(NULL)")
