"""servers' fields of later Compute microversions: locked_reason and
locked_by (2.9/2.73), hostname (2.3/2.90), tags (2.26), scheduler_hints (2.100)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('instances', sa.Column('locked_reason', sa.Text(), nullable=True))
    op.add_column('instances', sa.Column('locked_by', sa.String(length=255), nullable=True))
    op.add_column('instances', sa.Column('hostname', sa.String(length=255), nullable=True))
    op.add_column('instances', sa.Column('tags', postgresql.JSONB(astext_type=sa.Text()),
                                         server_default='[]', nullable=False))
    op.add_column('instances', sa.Column('scheduler_hints',
                                         postgresql.JSONB(astext_type=sa.Text()),
                                         server_default='{}', nullable=False))


def downgrade():
    for column in ('scheduler_hints', 'tags', 'hostname', 'locked_by', 'locked_reason'):
        op.drop_column('instances', column)
