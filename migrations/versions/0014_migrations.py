"""migrations: Nova's record of an instance's moves (a resize today)

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-08
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0014'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
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
    op.drop_index('ix_migrations_status', table_name='migrations')
    op.drop_index('ix_migrations_instance', table_name='migrations')
    op.drop_table('migrations')
