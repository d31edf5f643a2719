"""networking

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    
    op.create_table('networks',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=True),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('external', sa.Boolean(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('bridge', sa.String(length=15), nullable=False),
    sa.Column('mtu', sa.Integer(), nullable=False),
    sa.Column('admin_state_up', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('bridge')
    )
    op.create_index(op.f('ix_networks_name'), 'networks', ['name'], unique=False)
    op.create_index(op.f('ix_networks_project_id'), 'networks', ['project_id'], unique=False)
    op.create_table('security_groups',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('stateful', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_security_groups_project_id'), 'security_groups', ['project_id'], unique=False)
    op.create_index('ux_security_groups_default', 'security_groups', ['project_id'], unique=True, postgresql_where=sa.text("name = 'default'"))
    op.create_table('ports',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('mac_address', sa.String(length=17), nullable=False),
    sa.Column('device_id', sa.String(length=255), nullable=False),
    sa.Column('device_owner', sa.String(length=255), nullable=False),
    sa.Column('admin_state_up', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('binding_host_id', sa.String(length=255), nullable=True),
    sa.Column('port_security_enabled', sa.Boolean(), nullable=False),
    sa.Column('preserve_on_delete', sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('mac_address')
    )
    op.create_index(op.f('ix_ports_device_id'), 'ports', ['device_id'], unique=False)
    op.create_index(op.f('ix_ports_network_id'), 'ports', ['network_id'], unique=False)
    op.create_index(op.f('ix_ports_project_id'), 'ports', ['project_id'], unique=False)
    op.create_table('security_group_rules',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('security_group_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=True),
    sa.Column('direction', sa.String(length=7), nullable=False),
    sa.Column('ethertype', sa.String(length=4), nullable=False),
    sa.Column('protocol', sa.String(length=16), nullable=True),
    sa.Column('port_range_min', sa.Integer(), nullable=True),
    sa.Column('port_range_max', sa.Integer(), nullable=True),
    sa.Column('remote_ip_prefix', postgresql.CIDR(), nullable=True),
    sa.Column('remote_group_id', sa.String(length=36), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['remote_group_id'], ['security_groups.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['security_group_id'], ['security_groups.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_security_group_rules_remote_group_id'), 'security_group_rules', ['remote_group_id'], unique=False)
    op.create_index(op.f('ix_security_group_rules_security_group_id'), 'security_group_rules', ['security_group_id'], unique=False)
    op.create_table('subnets',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('ip_version', sa.Integer(), nullable=False),
    sa.Column('cidr', postgresql.CIDR(), nullable=False),
    sa.Column('gateway_ip', postgresql.INET(), nullable=True),
    sa.Column('enable_dhcp', sa.Boolean(), nullable=False),
    sa.Column('allocation_pools', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('dns_nameservers', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('host_routes', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('ipv6_ra_mode', sa.String(length=32), nullable=True),
    sa.Column('ipv6_address_mode', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    postgresql.ExcludeConstraint((sa.column('cidr'), '&&'), using='gist', ops={'cidr': 'inet_ops'}, name='subnets_no_overlap'),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_subnets_network_id'), 'subnets', ['network_id'], unique=False)
    op.create_table('floating_ips',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=True),
    sa.Column('floating_network_id', sa.String(length=36), nullable=False),
    sa.Column('floating_port_id', sa.String(length=36), nullable=False),
    sa.Column('floating_ip_address', postgresql.INET(), nullable=False),
    sa.Column('port_id', sa.String(length=36), nullable=True),
    sa.Column('fixed_ip_address', postgresql.INET(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['floating_network_id'], ['networks.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['floating_port_id'], ['ports.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['port_id'], ['ports.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('floating_ip_address'),
    sa.UniqueConstraint('floating_port_id')
    )
    op.create_index(op.f('ix_floating_ips_floating_network_id'), 'floating_ips', ['floating_network_id'], unique=False)
    op.create_index(op.f('ix_floating_ips_port_id'), 'floating_ips', ['port_id'], unique=False)
    op.create_index(op.f('ix_floating_ips_project_id'), 'floating_ips', ['project_id'], unique=False)
    op.create_index('ux_floating_ips_fixed', 'floating_ips', ['port_id', 'fixed_ip_address'], unique=True, postgresql_where=sa.text('port_id IS NOT NULL'))
    op.create_table('ip_allocations',
    sa.Column('subnet_id', sa.String(length=36), nullable=False),
    sa.Column('address', postgresql.INET(), nullable=False),
    sa.Column('port_id', sa.String(length=36), nullable=True),
    sa.Column('pooled', sa.Boolean(), nullable=False),
    sa.Column('allocated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['port_id'], ['ports.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['subnet_id'], ['subnets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('subnet_id', 'address')
    )
    op.create_index('ix_ip_allocations_free', 'ip_allocations', ['subnet_id', 'address'], unique=False, postgresql_where=sa.text('port_id IS NULL'))
    op.create_index(op.f('ix_ip_allocations_port_id'), 'ip_allocations', ['port_id'], unique=False)
    op.create_table('port_security_groups',
    sa.Column('port_id', sa.String(length=36), nullable=False),
    sa.Column('security_group_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['port_id'], ['ports.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['security_group_id'], ['security_groups.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('port_id', 'security_group_id')
    )
    op.create_index(op.f('ix_port_security_groups_security_group_id'), 'port_security_groups', ['security_group_id'], unique=False)



def downgrade():
    
    op.drop_index(op.f('ix_port_security_groups_security_group_id'), table_name='port_security_groups')
    op.drop_table('port_security_groups')
    op.drop_index(op.f('ix_ip_allocations_port_id'), table_name='ip_allocations')
    op.drop_index('ix_ip_allocations_free', table_name='ip_allocations', postgresql_where=sa.text('port_id IS NULL'))
    op.drop_table('ip_allocations')
    op.drop_index('ux_floating_ips_fixed', table_name='floating_ips', postgresql_where=sa.text('port_id IS NOT NULL'))
    op.drop_index(op.f('ix_floating_ips_project_id'), table_name='floating_ips')
    op.drop_index(op.f('ix_floating_ips_port_id'), table_name='floating_ips')
    op.drop_index(op.f('ix_floating_ips_floating_network_id'), table_name='floating_ips')
    op.drop_table('floating_ips')
    op.drop_index(op.f('ix_subnets_network_id'), table_name='subnets')
    op.drop_table('subnets')
    op.drop_index(op.f('ix_security_group_rules_security_group_id'), table_name='security_group_rules')
    op.drop_index(op.f('ix_security_group_rules_remote_group_id'), table_name='security_group_rules')
    op.drop_table('security_group_rules')
    op.drop_index(op.f('ix_ports_project_id'), table_name='ports')
    op.drop_index(op.f('ix_ports_network_id'), table_name='ports')
    op.drop_index(op.f('ix_ports_device_id'), table_name='ports')
    op.drop_table('ports')
    op.drop_index('ux_security_groups_default', table_name='security_groups', postgresql_where=sa.text("name = 'default'"))
    op.drop_index(op.f('ix_security_groups_project_id'), table_name='security_groups')
    op.drop_table('security_groups')
    op.drop_index(op.f('ix_networks_project_id'), table_name='networks')
    op.drop_index(op.f('ix_networks_name'), table_name='networks')
    op.drop_table('networks')

