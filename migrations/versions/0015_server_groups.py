"""server groups: instance_groups, and request_specs (a server's group, hints
and forced host; a row only for a server that asked for one of them)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'instance_groups',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('uuid', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('user_id', sa.String(length=255), nullable=False),
        sa.Column('policy', sa.String(length=32), nullable=False),
        sa.Column('rules', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('uuid'),
    )
    op.create_index('ix_instance_groups_project', 'instance_groups', ['project_id'])
    op.create_table(
        'request_specs',
        sa.Column('instance_uuid', sa.String(length=36), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=True),
        sa.Column('hints', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('force_host', sa.String(length=255), nullable=True),
        sa.Column('force_node', sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(['group_id'], ['instance_groups.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('instance_uuid'),
    )
    op.create_index('ix_request_specs_group', 'request_specs', ['group_id'])


def downgrade():
    op.drop_table('request_specs')
    op.drop_table('instance_groups')
