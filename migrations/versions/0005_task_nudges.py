"""the reconciler's nudge stamp on instances (task_nudged_at, task_nudges)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    # Both are added without rewriting the table (a constant default).
    op.add_column('instances', sa.Column('task_nudged_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('instances', sa.Column('task_nudges', sa.Integer(), nullable=False,
                                         server_default='0'))


def downgrade():
    op.drop_column('instances', 'task_nudges')
    op.drop_column('instances', 'task_nudged_at')
