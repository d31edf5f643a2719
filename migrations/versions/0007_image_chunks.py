"""image data in PostgreSQL: image_chunks (the [image] store = database)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'image_chunks',
        sa.Column('image_id', sa.String(length=36), nullable=False),
        sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['image_id'], ['images.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('image_id', 'seq'),
    )


def downgrade():
    op.drop_table('image_chunks')
