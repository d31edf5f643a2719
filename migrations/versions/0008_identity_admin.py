"""identity administration: roles as rows (role_assignments.role_id),
application credentials, token revocation events, login lockout counters
and the ignore_lockout user option

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""
import uuid

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

BUILTIN_ROLES = ('admin', 'member', 'reader', 'service')

LEGACY_ROLE_FUNCTION = """
CREATE FUNCTION role_assignments_legacy_role() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.role_id IS NULL AND NEW.role IS NOT NULL THEN
        SELECT id INTO NEW.role_id FROM roles WHERE name = NEW.role;
    END IF;
    SELECT name INTO NEW.role FROM roles WHERE id = NEW.role_id;
    RETURN NEW;
END $$"""


def upgrade():
    op.create_table(
        'roles',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    conn = op.get_bind()
    names = set(BUILTIN_ROLES) | set(conn.execute(sa.text(
        "SELECT DISTINCT role FROM role_assignments")).scalars())
    for name in sorted(names):
        conn.execute(sa.text("INSERT INTO roles (id, name, description, created_at) "
                             "VALUES (:id, :name, '', now())"),
                     {"id": uuid.uuid4().hex, "name": name})
    op.add_column('role_assignments', sa.Column('role_id', sa.String(length=64),
                                                nullable=True))
    conn.execute(sa.text("UPDATE role_assignments a SET role_id = r.id FROM roles r "
                         "WHERE r.name = a.role"))
    op.drop_constraint('role_assignments_pkey', 'role_assignments', type_='primary')
    op.alter_column('role_assignments', 'role', nullable=True)
    op.alter_column('role_assignments', 'role_id', nullable=False)
    op.create_primary_key('role_assignments_pkey', 'role_assignments',
                          ['user_id', 'project_id', 'role_id'])
    op.create_foreign_key('role_assignments_role_id_fkey', 'role_assignments', 'roles',
                          ['role_id'], ['id'], ondelete='CASCADE')
    # Additive, for rolling upgrades: the schema is migrated first, and the
    # controllers not yet upgraded still read and write role names. The name
    # column stays, kept in step with role_id by this trigger either way
    # (old code writes a name, new code an id); a later migration drops both
    # once no release before this one can be running.
    op.execute(LEGACY_ROLE_FUNCTION)
    op.execute("CREATE TRIGGER role_assignments_legacy_role BEFORE INSERT OR UPDATE "
               "ON role_assignments FOR EACH ROW "
               "EXECUTE FUNCTION role_assignments_legacy_role()")

    op.add_column('users', sa.Column('failed_auth_count', sa.Integer(),
                                     server_default='0', nullable=False))
    op.add_column('users', sa.Column('failed_auth_at', sa.DateTime(timezone=True),
                                     nullable=True))
    op.add_column('users', sa.Column('ignore_lockout', sa.Boolean(),
                                     server_default='false', nullable=False))

    op.create_table(
        'application_credentials',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('user_id', sa.String(length=36), nullable=False),
        sa.Column('project_id', sa.String(length=36), nullable=False),
        sa.Column('secret_hash', sa.String(length=255), nullable=False),
        sa.Column('roles', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('unrestricted', sa.Boolean(), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'name'),
    )
    op.create_table(
        'revocation_events',
        sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column('user_id', sa.String(length=36), nullable=True),
        sa.Column('project_id', sa.String(length=36), nullable=True),
        sa.Column('audit_id', sa.String(length=64), nullable=True),
        sa.Column('app_cred_id', sa.String(length=64), nullable=True),
        sa.Column('issued_before', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_revocation_events_created_at', 'revocation_events',
                    ['created_at'])


def downgrade():
    op.drop_index('ix_revocation_events_created_at', table_name='revocation_events')
    op.drop_table('revocation_events')
    op.drop_table('application_credentials')
    op.drop_column('users', 'ignore_lockout')
    op.drop_column('users', 'failed_auth_at')
    op.drop_column('users', 'failed_auth_count')
    op.execute("DROP TRIGGER role_assignments_legacy_role ON role_assignments")
    op.execute("DROP FUNCTION role_assignments_legacy_role()")
    op.execute("UPDATE role_assignments a SET role = r.name FROM roles r "
               "WHERE r.id = a.role_id")
    op.drop_constraint('role_assignments_role_id_fkey', 'role_assignments',
                       type_='foreignkey')
    op.drop_constraint('role_assignments_pkey', 'role_assignments', type_='primary')
    op.drop_column('role_assignments', 'role_id')
    op.alter_column('role_assignments', 'role', nullable=False)
    op.create_primary_key('role_assignments_pkey', 'role_assignments',
                          ['user_id', 'project_id', 'role'])
    op.drop_table('roles')
