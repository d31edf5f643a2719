"""flavor access: flavor_projects (the projects granted a private flavor)

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'flavor_projects',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('flavor_id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['flavor_id'], ['flavors.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('flavor_id', 'project_id'),
    )


def downgrade():
    op.drop_table('flavor_projects')
