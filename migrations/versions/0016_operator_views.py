"""operator views: services get a uuid (2.53); indexes for the server list's
filters and sorts, the hypervisor list and the usage report

Every filter and sort of GET /servers[/detail] reaches an index (see
nova_lite/api/compute/server_queries.py and tests/functional/test_query_plans.py):

- one ``(key, uuid) WHERE NOT deleted`` index per sort key, so an admin's
  list of every project's servers, sorted by any key (the tie broken by
  uuid), is a walk of one index from the marker on, never a sort of the
  table; the same index serves the equality filter on that key (the host's
  replaces ix_instances_host_live);
- ``(updated_at, uuid)`` on all rows (``changes-since`` shows deleted
  servers too), which is also the sort by updated_at's;
- ``locked`` (only the locked ones: the rare case worth an index);
- trigram (pg_trgm) indexes for the regular-expression filters ``name`` and
  ``ip``/``ip6`` (the latter on the allocated addresses);
- ``created_at``/``deleted_at`` for os-simple-tenant-usage's period.

A project's own list keeps ix_instances_project_live (project_id,
created_at, uuid) and sorts the project's live rows for the other keys: a
project's servers are bounded by its quota.

The indexed columns change on every state transition (updated_at always did
move), so an UPDATE of an instance is no longer a HOT update: each
transition writes every index of the row. See doc/performance.md.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08
"""
from alembic import op
import sqlalchemy as sa

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

LIVE = sa.text('NOT deleted')

# sort key index name -> column (nova_lite.api.compute.server_queries.SORT_KEYS)
SORT_INDEXES = {
    'ix_instances_live_created_at': 'created_at',
    'ix_instances_live_name': 'name',
    'ix_instances_live_vm_state': 'vm_state',
    'ix_instances_live_task_state': 'task_state',
    'ix_instances_live_power_state': 'power_state',
    'ix_instances_live_launched_at': 'launched_at',
    'ix_instances_live_terminated_at': 'terminated_at',
    'ix_instances_live_host': 'host',
    'ix_instances_live_node': 'node',
    'ix_instances_live_key_name': 'key_name',
    'ix_instances_live_availability_zone': 'availability_zone',
    'ix_instances_live_user_id': 'user_id',
    'ix_instances_live_project_id': 'project_id',
    'ix_instances_live_image_ref': 'image_ref',
    'ix_instances_live_flavor_id': 'flavor_id',
}


def upgrade():
    op.add_column('services', sa.Column('uuid', sa.String(36), nullable=True))
    op.execute("UPDATE services SET uuid = gen_random_uuid()::text")
    op.alter_column('services', 'uuid', nullable=False,
                    server_default=sa.text('gen_random_uuid()::text'))
    op.create_unique_constraint('services_uuid_key', 'services', ['uuid'])

    for name, column in SORT_INDEXES.items():
        op.create_index(name, 'instances', [column, 'uuid'], postgresql_where=LIVE)
    # (host, uuid) serves everything (host) did, and the sort by host too.
    op.drop_index('ix_instances_host_live', table_name='instances', postgresql_where=LIVE)
    op.create_index('ix_instances_updated_at', 'instances', ['updated_at', 'uuid'])
    op.create_index('ix_instances_locked_live', 'instances', ['uuid'],
                    postgresql_where=sa.text('locked AND NOT deleted'))
    op.create_index('ix_instances_deleted_at', 'instances', ['deleted_at'],
                    postgresql_where=sa.text('deleted_at IS NOT NULL'))

    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE INDEX ix_instances_live_name_trgm ON instances "
               "USING gin (name gin_trgm_ops) WHERE NOT deleted")
    op.execute("CREATE INDEX ix_ip_allocations_held_trgm ON ip_allocations "
               "USING gin (host(address) gin_trgm_ops) WHERE port_id IS NOT NULL")

    # os-hypervisors: search by hostname pattern, page by id (the primary key).
    op.execute("CREATE INDEX ix_compute_nodes_hostname_trgm ON compute_nodes "
               "USING gin (hypervisor_hostname gin_trgm_ops)")


def downgrade():
    op.drop_index('ix_compute_nodes_hostname_trgm', table_name='compute_nodes')
    op.drop_index('ix_ip_allocations_held_trgm', table_name='ip_allocations')
    op.drop_index('ix_instances_live_name_trgm', table_name='instances')
    op.drop_index('ix_instances_deleted_at', table_name='instances')
    op.drop_index('ix_instances_locked_live', table_name='instances')
    op.drop_index('ix_instances_updated_at', table_name='instances')
    op.create_index('ix_instances_host_live', 'instances', ['host'], postgresql_where=LIVE)
    for name in SORT_INDEXES:
        op.drop_index(name, table_name='instances')
    op.drop_constraint('services_uuid_key', 'services', type_='unique')
    op.drop_column('services', 'uuid')
