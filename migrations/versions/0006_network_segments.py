"""a segmentation id (VXLAN VNI) per network, from a sequence

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

Every network gets ``segmentation_id``: the VNI of its VXLAN segment when
the compute hosts run ``[network] overlay = vxlan`` (doc/networking.md). It
is drawn from ``networks_segmentation_id_seq`` (1 .. 2^24-1, no cycle: a VNI
is never handed out twice, even after its network is deleted) by the
column's default, so every way of inserting a network gets one. Existing
rows are numbered in creation order, then the column becomes NOT NULL.
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

SEQUENCE = 'networks_segmentation_id_seq'


def upgrade():
    op.execute(f"CREATE SEQUENCE {SEQUENCE} AS integer MINVALUE 1 MAXVALUE 16777215 "
               "NO CYCLE OWNED BY NONE")
    op.add_column('networks', sa.Column('segmentation_id', sa.Integer(), nullable=True))
    op.execute(f"UPDATE networks SET segmentation_id = n.vni FROM "
               f"(SELECT id, nextval('{SEQUENCE}') AS vni FROM "
               f"(SELECT id FROM networks ORDER BY created_at, id) ordered) n "
               f"WHERE networks.id = n.id")
    op.alter_column('networks', 'segmentation_id', nullable=False,
                    server_default=sa.text(f"nextval('{SEQUENCE}')"))
    op.execute(f"ALTER SEQUENCE {SEQUENCE} OWNED BY networks.segmentation_id")
    op.create_unique_constraint('networks_segmentation_id_key', 'networks',
                                ['segmentation_id'])


def downgrade():
    op.drop_constraint('networks_segmentation_id_key', 'networks', type_='unique')
    op.drop_column('networks', 'segmentation_id')       # drops the owned sequence
    op.execute(f"DROP SEQUENCE IF EXISTS {SEQUENCE}")
