"""migrations: Nova's record of an instance's moves (a resize today); quotas
count a server's new cores and ram when its flavor changes

A resize writes the new flavor's vcpus and memory_mb into the instance row
in the request's transaction; the deferred trigger nl_quota_instances_resized
moves the project's cores and ram by the difference at commit (0012's
nl_quota_add; a user's own limits are checked as 0012's server trigger does),
an increase past the limit refused with NLQ01 (the API answers 403); a
revert or a failed resize gives the difference back.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


RESIZED = r"""
CREATE FUNCTION nl_quota_instances_resized() RETURNS trigger AS $$
BEGIN
    PERFORM nl_quota_add(NEW.project_id, ARRAY['cores', 'ram']::varchar[],
                         ARRAY[NEW.vcpus - OLD.vcpus, NEW.memory_mb - OLD.memory_mb]::bigint[]);
    PERFORM nl_quota_user_check(NEW.project_id, NEW.user_id,
                                greatest(NEW.vcpus - OLD.vcpus, 0),
                                greatest(NEW.memory_mb - OLD.memory_mb, 0));
    RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER nl_quota_instances_resized AFTER UPDATE OF vcpus, memory_mb
    ON instances DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NOT OLD.deleted AND NOT NEW.deleted
          AND (NEW.vcpus <> OLD.vcpus OR NEW.memory_mb <> OLD.memory_mb))
    EXECUTE FUNCTION nl_quota_instances_resized();
"""


def upgrade():
    op.execute(RESIZED)
    op.create_table(
        'migrations',
        sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column('uuid', sa.String(length=36), nullable=False),
        sa.Column('instance_uuid', sa.String(length=36), nullable=False),
        sa.Column('source_compute', sa.String(length=255), nullable=True),
        sa.Column('dest_compute', sa.String(length=255), nullable=True),
        sa.Column('source_node', sa.String(length=255), nullable=True),
        sa.Column('dest_node', sa.String(length=255), nullable=True),
        sa.Column('dest_host', sa.String(length=255), nullable=True),
        sa.Column('old_instance_type_id', sa.String(length=255), nullable=True),
        sa.Column('new_instance_type_id', sa.String(length=255), nullable=True),
        sa.Column('old_flavor', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('new_flavor', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('status', sa.String(length=255), nullable=False),
        sa.Column('migration_type', sa.String(length=255), nullable=False),
        sa.Column('project_id', sa.String(length=36), nullable=True),
        sa.Column('user_id', sa.String(length=36), nullable=True),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('uuid'),
    )
    op.create_index('ix_migrations_instance', 'migrations', ['instance_uuid', 'id'])
    op.create_index('ix_migrations_status', 'migrations', ['status', 'updated_at'])


def downgrade():
    op.execute("DROP TRIGGER IF EXISTS nl_quota_instances_resized ON instances; "
               "DROP FUNCTION IF EXISTS nl_quota_instances_resized()")
    op.drop_index('ix_migrations_status', table_name='migrations')
    op.drop_index('ix_migrations_instance', table_name='migrations')
    op.drop_table('migrations')
