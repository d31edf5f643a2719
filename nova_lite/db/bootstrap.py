"""Idempotent creation of the things a new cloud starts with: the built-in
roles, projects, users, role assignments and flavors (``nova-lite-manage
bootstrap`` / ``flavor create``)."""
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from nova_lite.db import identity, models, passwords, revocations
from nova_lite.db.session import transaction

# Nova's classic flavors (flavorid, name, vcpus, ram MiB, disk GiB).
DEFAULT_FLAVORS = (
    ("1", "m1.tiny", 1, 512, 1),
    ("2", "m1.small", 1, 2048, 20),
    ("3", "m1.medium", 2, 4096, 40),
    ("4", "m1.large", 4, 8192, 80),
)


def ensure_project(name, description=""):
    """The project's id, and whether it had to be created."""
    with transaction() as session:
        project = session.scalars(select(models.Project)
                                  .where(models.Project.name == name)).first()
        if project is not None:
            return project.id, False
        project = models.Project(name=name, description=description)
        session.add(project)
        session.flush()
        return project.id, True


def ensure_roles():
    """The built-in roles (admin, member, reader, service); True if any had
    to be created."""
    with transaction() as session:
        return any([identity.ensure_role(session, name)[1]
                    for name in identity.BUILTIN_ROLES])


def ensure_user(name, password, project_name, role, ignore_lockout=False):
    """Create or update a user, (re)set its password (revoking its tokens),
    grant ``role`` (a name, created if missing) on the project;
    ``ignore_lockout`` exempts it from the login lockout (service users).
    True if anything had to change (a deploy tool reports it)."""
    project_id, changed = ensure_project(project_name)
    with transaction() as session:
        role_row, created = identity.ensure_role(session, role)
        changed = changed or created
        user = session.scalars(select(models.User).where(models.User.name == name)).first()
        if user is None:
            user = models.User(name=name, password_hash=passwords.hash_password(password),
                               default_project_id=project_id)
            session.add(user)
            session.flush()
            changed = True
        elif not passwords.check_password(password, user.password_hash):
            user.password_hash = passwords.hash_password(password)
            revocations.record(session, user_id=user.id)
            changed = True
        if ignore_lockout and not user.ignore_lockout:
            user.ignore_lockout = True
            changed = True
        # Bootstrap is also the way back in for a locked-out admin (not
        # reported as a change: it is no configuration).
        user.failed_auth_count, user.failed_auth_at = 0, None
        granted = session.execute(insert(models.RoleAssignment)
                                  .values(user_id=user.id, project_id=project_id,
                                          role_id=role_row.id)
                                  .on_conflict_do_nothing())
        return changed or granted.rowcount > 0


def ensure_flavor(flavorid, name, vcpus, memory_mb, root_gb, ephemeral_gb=0, swap=0,
                  is_public=True):
    """Create the flavor unless it exists; True if it was created."""
    with transaction() as session:
        result = session.execute(insert(models.Flavor).values(
            flavorid=flavorid, name=name, vcpus=vcpus, memory_mb=memory_mb,
            root_gb=root_gb, ephemeral_gb=ephemeral_gb, swap=swap, is_public=is_public,
            extra_specs={}, created_at=models.utcnow()).on_conflict_do_nothing())
        return result.rowcount > 0


def ensure_default_flavors():
    """True if any default flavor had to be created."""
    created = [ensure_flavor(flavorid, name, vcpus, ram, disk)
               for flavorid, name, vcpus, ram, disk in DEFAULT_FLAVORS]
    return any(created)
