"""indexes for scale: instances by reservation id, sent outbox rows by age

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    # GET /servers?reservation_id= and the scheduler's multi-create siblings.
    op.create_index('ix_instances_reservation_live', 'instances', ['reservation_id'],
                    unique=False, postgresql_where=sa.text('NOT deleted'))
    # The relay's purge of sent rows (an hour of a flood is millions of rows).
    op.create_index('ix_outbox_sent', 'outbox', ['sent_at'], unique=False,
                    postgresql_where=sa.text('sent_at IS NOT NULL'))


def downgrade():
    op.drop_index('ix_outbox_sent', table_name='outbox',
                  postgresql_where=sa.text('sent_at IS NOT NULL'))
    op.drop_index('ix_instances_reservation_live', table_name='instances',
                  postgresql_where=sa.text('NOT deleted'))
