"""remote-group membership told to hosts incrementally

Members of a group that some rule names as remote group are kept by the
database itself: triggers on ports, port_security_groups and ip_allocations
write one row to security_group_member_changes per address that joins or
leaves such a group (a port counts once it is bound to a host), and one row
to security_group_hosts per (remote group, host) where a bound port's rules
name that group.
The conductor's fan-out pass (nova_lite.network.membership) turns the changes
into one message per interested host. Being triggers, no code path that
makes, binds, re-groups or deletes a port can forget to say so.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

FUNCTIONS = """
-- Addresses of ``p_port`` (or just ``p_address``) joined (p_member) or left
-- the port's groups (or just ``p_group``, which the port may have just left)
-- that some rule names as remote group.
CREATE FUNCTION nl_sg_member_change(p_port varchar, p_group varchar, p_address inet,
                                    p_member boolean) RETURNS void AS $$
BEGIN
    INSERT INTO security_group_member_changes (security_group_id, address, member)
    SELECT g.id, a.address, p_member
    FROM (SELECT p_group AS id WHERE p_group IS NOT NULL
          UNION ALL
          SELECT security_group_id FROM port_security_groups
          WHERE p_group IS NULL AND port_id = p_port) g
    CROSS JOIN LATERAL (
        SELECT p_address AS address WHERE p_address IS NOT NULL
        UNION ALL
        SELECT ia.address FROM ip_allocations ia
        WHERE p_address IS NULL AND ia.port_id = p_port) a
    WHERE EXISTS (SELECT 1 FROM security_group_rules r WHERE r.remote_group_id = g.id);
END $$ LANGUAGE plpgsql;

-- ``p_host`` must hear of the members of every group that the rules of the
-- port's groups (or just ``p_group``) name. A row already there is locked
-- FOR KEY SHARE (binds do not block each other) so that a prune, which locks
-- it FOR UPDATE before checking that no bound port needs it, waits for this
-- transaction and then sees its port.
CREATE FUNCTION nl_sg_host(p_port varchar, p_group varchar, p_host varchar)
RETURNS void AS $$
DECLARE
    remote varchar;
BEGIN
    FOR remote IN
        SELECT DISTINCT r.remote_group_id FROM port_security_groups g
        JOIN security_group_rules r ON r.security_group_id = g.security_group_id
        WHERE g.port_id = p_port AND (p_group IS NULL OR g.security_group_id = p_group)
          AND r.remote_group_id IS NOT NULL
        ORDER BY 1
    LOOP
        PERFORM 1 FROM security_group_hosts
        WHERE security_group_id = remote AND host = p_host FOR KEY SHARE;
        IF NOT FOUND THEN
            INSERT INTO security_group_hosts (security_group_id, host)
            VALUES (remote, p_host) ON CONFLICT DO NOTHING;
        END IF;
    END LOOP;
END $$ LANGUAGE plpgsql;

CREATE FUNCTION nl_ports_bound() RETURNS trigger AS $$
BEGIN
    IF NEW.binding_host_id IS NOT NULL THEN
        PERFORM nl_sg_host(NEW.id, NULL, NEW.binding_host_id);
    END IF;
    IF (OLD.binding_host_id IS NULL) <> (NEW.binding_host_id IS NULL) THEN
        PERFORM nl_sg_member_change(NEW.id, NULL, NULL, NEW.binding_host_id IS NOT NULL);
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

-- BEFORE: once the row is gone, the cascade to port_security_groups and the
-- SET NULL on ip_allocations can no longer see that the port was bound.
CREATE FUNCTION nl_ports_deleted() RETURNS trigger AS $$
BEGIN
    PERFORM nl_sg_member_change(OLD.id, NULL, NULL, false);
    RETURN OLD;
END $$ LANGUAGE plpgsql;

CREATE FUNCTION nl_port_groups_changed() RETURNS trigger AS $$
DECLARE
    row_ port_security_groups;
    bound varchar;
BEGIN
    IF TG_OP = 'INSERT' THEN row_ := NEW; ELSE row_ := OLD; END IF;
    SELECT binding_host_id INTO bound FROM ports WHERE id = row_.port_id;
    IF bound IS NULL THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM nl_sg_host(row_.port_id, row_.security_group_id, bound);
    END IF;
    PERFORM nl_sg_member_change(row_.port_id, row_.security_group_id, NULL,
                                TG_OP = 'INSERT');
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE FUNCTION nl_addresses_changed() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.port_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM ports WHERE id = OLD.port_id AND binding_host_id IS NOT NULL) THEN
        PERFORM nl_sg_member_change(OLD.port_id, NULL, OLD.address, false);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.port_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM ports WHERE id = NEW.port_id AND binding_host_id IS NOT NULL) THEN
        PERFORM nl_sg_member_change(NEW.port_id, NULL, NEW.address, true);
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER nl_ports_bound AFTER UPDATE OF binding_host_id ON ports
    FOR EACH ROW WHEN (OLD.binding_host_id IS DISTINCT FROM NEW.binding_host_id)
    EXECUTE FUNCTION nl_ports_bound();
CREATE TRIGGER nl_ports_deleted BEFORE DELETE ON ports
    FOR EACH ROW WHEN (OLD.binding_host_id IS NOT NULL)
    EXECUTE FUNCTION nl_ports_deleted();
CREATE TRIGGER nl_port_groups_changed AFTER INSERT OR DELETE ON port_security_groups
    FOR EACH ROW EXECUTE FUNCTION nl_port_groups_changed();
CREATE TRIGGER nl_addresses_inserted AFTER INSERT ON ip_allocations
    FOR EACH ROW WHEN (NEW.port_id IS NOT NULL) EXECUTE FUNCTION nl_addresses_changed();
CREATE TRIGGER nl_addresses_moved AFTER UPDATE OF port_id ON ip_allocations
    FOR EACH ROW WHEN (OLD.port_id IS DISTINCT FROM NEW.port_id)
    EXECUTE FUNCTION nl_addresses_changed();
CREATE TRIGGER nl_addresses_deleted AFTER DELETE ON ip_allocations
    FOR EACH ROW WHEN (OLD.port_id IS NOT NULL) EXECUTE FUNCTION nl_addresses_changed();
"""

DROP = """
DROP TRIGGER IF EXISTS nl_addresses_deleted ON ip_allocations;
DROP TRIGGER IF EXISTS nl_addresses_moved ON ip_allocations;
DROP TRIGGER IF EXISTS nl_addresses_inserted ON ip_allocations;
DROP TRIGGER IF EXISTS nl_port_groups_changed ON port_security_groups;
DROP TRIGGER IF EXISTS nl_ports_deleted ON ports;
DROP TRIGGER IF EXISTS nl_ports_bound ON ports;
DROP FUNCTION IF EXISTS nl_addresses_changed();
DROP FUNCTION IF EXISTS nl_port_groups_changed();
DROP FUNCTION IF EXISTS nl_ports_deleted();
DROP FUNCTION IF EXISTS nl_ports_bound();
DROP FUNCTION IF EXISTS nl_sg_host(varchar, varchar, varchar);
DROP FUNCTION IF EXISTS nl_sg_member_change(varchar, varchar, inet, boolean);
"""


def upgrade():
    op.create_table('security_group_hosts',
    sa.Column('security_group_id', sa.String(length=36), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('security_group_id', 'host')
    )
    op.create_table('security_group_member_changes',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('security_group_id', sa.String(length=36), nullable=False),
    sa.Column('address', postgresql.INET(), nullable=False),
    sa.Column('member', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('security_group_member_syncs',
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('security_group_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('host', 'security_group_id')
    )
    op.create_table('security_group_fanout',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('pass_number', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.execute("INSERT INTO security_group_fanout (id, pass_number) VALUES (1, 0)")
    op.create_index(op.f('ix_ports_binding_host_id'), 'ports', ['binding_host_id'],
                    unique=False)
    op.execute(FUNCTIONS)
    # Servers already bound when this runs: their groups' hosts.
    op.execute("""
        INSERT INTO security_group_hosts (security_group_id, host)
        SELECT DISTINCT r.remote_group_id, p.binding_host_id
        FROM port_security_groups g JOIN ports p ON p.id = g.port_id
        JOIN security_group_rules r ON r.security_group_id = g.security_group_id
        WHERE p.binding_host_id IS NOT NULL AND r.remote_group_id IS NOT NULL
        ON CONFLICT DO NOTHING""")


def downgrade():
    op.execute(DROP)
    op.drop_index(op.f('ix_ports_binding_host_id'), table_name='ports')
    op.drop_table('security_group_fanout')
    op.drop_table('security_group_member_syncs')
    op.drop_table('security_group_member_changes')
    op.drop_table('security_group_hosts')
