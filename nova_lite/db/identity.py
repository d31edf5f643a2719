"""Identity's rules: login (password with lockout, application credential),
users, projects, roles, role assignments and application credentials, and
the token revocation events their changes write (nova_lite.db.revocations).

Implied roles, as Keystone's defaults: admin implies member implies reader;
a token carries its assigned roles and every role they imply.
"""
import datetime
import functools
import secrets

import sqlalchemy.exc
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from nova_lite import exception
from nova_lite.conf import CONF
from nova_lite.db import models, passwords, revocations
from nova_lite.db.session import reader, transaction

BUILTIN_ROLES = ("admin", "member", "reader", "service")
IMPLIES = {"admin": ("member",), "member": ("reader",)}

UNAUTHORIZED = "The request you have made requires authentication."


def implied(names):
    """``names`` and every role they imply, sorted."""
    found, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo.extend(IMPLIES.get(name, ()))
    return sorted(found)


def _published(event_ids):
    """Wait until this process has seen the events it wrote (see revocations)."""
    if event_ids:
        listing = revocations.current()
        for event_id in event_ids:
            listing.wait_seen(event_id)


def _conflict(exc, what):
    if isinstance(exc.orig, Exception) and "unique" in str(exc.orig).lower():
        raise exception.Conflict(f"Conflict occurred attempting to store {what}: "
                                 "a duplicate entry.") from None
    raise exc


# -- passwords and lockout -------------------------------------------------
@functools.cache
def dummy_hash():
    """A real hash of the same algorithm and cost as users' ones: a login for
    an unknown user verifies against it, so it costs the same time."""
    return passwords.hash_password(secrets.token_urlsafe(16))


def verify(password, stored):
    return passwords.check_password(password, stored)


def _attempt(session, user_id, exempt=False):
    """Take one attempt from the user's allowance, atomically: the row is
    locked and counted before the password is checked, so N concurrent
    guesses cannot all slip in while the count reads below the limit.
    False if the user is locked out (then nothing is counted). Failures older
    than the lockout duration start a new count."""
    limit = CONF.identity.lockout_failure_attempts
    if not limit or exempt:
        return True
    stale = models.utcnow() - datetime.timedelta(seconds=CONF.identity.lockout_duration)
    fresh = or_(models.User.failed_auth_at.is_(None), models.User.failed_auth_at < stale)
    counted = session.execute(
        update(models.User)
        .where(models.User.id == user_id,
               or_(fresh, models.User.failed_auth_count < limit))
        .values(failed_auth_count=sqlalchemy.case((fresh, 1),
                                                  else_=models.User.failed_auth_count + 1),
                failed_auth_at=func.now())
        .returning(models.User.id)).first()
    return counted is not None


def _clear_failures(session, user_id):
    session.execute(update(models.User).where(models.User.id == user_id)
                    .values(failed_auth_count=0, failed_auth_at=None))


def check_user_password(user, password):
    """The password check of a login or a password change, with lockout:
    401 (the same message whatever the reason) unless ``user`` exists, is
    enabled, is not locked out and ``password`` is its password. The hash
    runs in every case, against a dummy one for an unknown user."""
    if user is None:
        # The same work as for a user: the attempt's UPDATE (matching no row)
        # and the hash, in one transaction.
        with transaction() as session:
            _attempt(session, "")
            verify(password, dummy_hash())
        raise exception.NotAuthenticated(UNAUTHORIZED)
    with transaction() as session:
        allowed = _attempt(session, user.id, user.ignore_lockout)
        # Checked while the row is locked: one user's attempts go one by one.
        good = verify(password, user.password_hash)
        if allowed and good:
            _clear_failures(session, user.id)
    if not (allowed and good and user.enabled):
        raise exception.NotAuthenticated(UNAUTHORIZED)


def authenticate_password(user_id=None, name=None, password=""):
    with reader() as session:
        query = select(models.User)
        query = query.where(models.User.id == user_id) if user_id \
            else query.where(models.User.name == name)
        user = session.scalars(query).first()
    check_user_password(user, password)
    return user


# -- roles -------------------------------------------------------------------
def role_names(session, user_id, project_id):
    """The roles assigned to the user on the project (not the implied ones)."""
    return session.scalars(select(models.Role.name).join(
        models.RoleAssignment, models.RoleAssignment.role_id == models.Role.id).where(
        models.RoleAssignment.user_id == user_id,
        models.RoleAssignment.project_id == project_id)).all()


def ensure_role(session, name):
    """The role named ``name``, created if missing; (role, created)."""
    role = session.scalars(select(models.Role).where(models.Role.name == name)).first()
    if role is not None:
        return role, False
    role = models.Role(name=name, description="")
    session.add(role)
    session.flush()
    return role, True


def get(model, object_id, what):
    with reader() as session:
        found = session.get(model, object_id)
    if found is None:
        raise exception.NotFound(f"Could not find {what}: {object_id}.")
    return found


def create(obj, what):
    try:
        with transaction() as session:
            session.add(obj)
    except sqlalchemy.exc.IntegrityError as exc:
        _conflict(exc, what)
    return obj


# -- users -------------------------------------------------------------------
def create_user(name, password, default_project_id=None, enabled=True,
                ignore_lockout=False):
    if default_project_id is not None:
        get(models.Project, default_project_id, "project")
    return create(models.User(name=name, enabled=enabled, ignore_lockout=ignore_lockout,
                              password_hash=passwords.hash_password(password or
                                                                    secrets.token_hex(16)),
                              default_project_id=default_project_id), "user")


def update_user(user_id, changes):
    """Apply ``changes`` (name, enabled, password, default_project_id,
    ignore_lockout).
    Disabling or a new password revokes the user's tokens; enabling or a new
    password also clears a lockout."""
    events = []
    try:
        with transaction() as session:
            user = session.get(models.User, user_id, with_for_update=True)
            if user is None:
                raise exception.NotFound(f"Could not find user: {user_id}.")
            if "name" in changes:
                user.name = changes["name"]
            if "ignore_lockout" in changes:
                user.ignore_lockout = bool(changes["ignore_lockout"])
            if "default_project_id" in changes:
                if changes["default_project_id"] is not None and session.get(
                        models.Project, changes["default_project_id"]) is None:
                    raise exception.NotFound("Could not find project: "
                                             f"{changes['default_project_id']}.")
                user.default_project_id = changes["default_project_id"]
            if "password" in changes:
                user.password_hash = passwords.hash_password(changes["password"])
                user.failed_auth_count, user.failed_auth_at = 0, None
                events.append(revocations.record(session, user_id=user.id))
            if "enabled" in changes:
                if user.enabled and not changes["enabled"]:
                    events.append(revocations.record(session, user_id=user.id))
                if changes["enabled"]:
                    user.failed_auth_count, user.failed_auth_at = 0, None
                user.enabled = bool(changes["enabled"])
            session.flush()
    except sqlalchemy.exc.IntegrityError as exc:
        _conflict(exc, "user")
    _published(events)
    return user


def change_password(user_id, original, new):
    """The user's own change: the original password is checked like a login
    (and counts toward the lockout); every token issued before is revoked."""
    with reader() as session:
        user = session.get(models.User, user_id)
    check_user_password(user, original)
    return update_user(user_id, {"password": new})


def delete_user(user_id):
    with transaction() as session:
        user = session.get(models.User, user_id)
        if user is None:
            raise exception.NotFound(f"Could not find user: {user_id}.")
        event = revocations.record(session, user_id=user_id)
        session.delete(user)
    _published([event])


def user_projects(user_id):
    with reader() as session:
        return session.scalars(
            select(models.Project).join(models.RoleAssignment,
                                        models.RoleAssignment.project_id == models.Project.id)
            .where(models.RoleAssignment.user_id == user_id).distinct()
            .order_by(models.Project.name)).all()


# -- projects ------------------------------------------------------------------
def update_project(project_id, changes):
    events = []
    try:
        with transaction() as session:
            project = session.get(models.Project, project_id, with_for_update=True)
            if project is None:
                raise exception.NotFound(f"Could not find project: {project_id}.")
            for key in ("name", "description"):
                if key in changes:
                    setattr(project, key, changes[key])
            if "enabled" in changes:
                if project.enabled and not changes["enabled"]:
                    events.append(revocations.record(session, project_id=project_id))
                project.enabled = bool(changes["enabled"])
            session.flush()
    except sqlalchemy.exc.IntegrityError as exc:
        _conflict(exc, "project")
    _published(events)
    return project


def delete_project(project_id):
    with transaction() as session:
        project = session.get(models.Project, project_id)
        if project is None:
            raise exception.NotFound(f"Could not find project: {project_id}.")
        event = revocations.record(session, project_id=project_id)
        session.delete(project)
    _published([event])


# -- roles and assignments -----------------------------------------------------
def update_role(role_id, changes):
    try:
        with transaction() as session:
            role = session.get(models.Role, role_id, with_for_update=True)
            if role is None:
                raise exception.NotFound(f"Could not find role: {role_id}.")
            if "name" in changes and changes["name"] != role.name \
                    and role.name in BUILTIN_ROLES:
                raise exception.Forbidden(f"The built-in role {role.name} cannot "
                                          "be renamed.")
            for key in ("name", "description"):
                if key in changes:
                    setattr(role, key, changes[key])
            session.flush()
    except sqlalchemy.exc.IntegrityError as exc:
        _conflict(exc, "role")
    return role


def delete_role(role_id):
    """Delete a role and its assignments: the tokens of those users on those
    projects are revoked."""
    with transaction() as session:
        role = session.get(models.Role, role_id)
        if role is None:
            raise exception.NotFound(f"Could not find role: {role_id}.")
        if role.name in BUILTIN_ROLES:
            raise exception.Forbidden(f"The built-in role {role.name} cannot be deleted.")
        pairs = session.execute(select(models.RoleAssignment.user_id,
                                       models.RoleAssignment.project_id)
                                .where(models.RoleAssignment.role_id == role_id)).all()
        events = [revocations.record(session, user_id=u, project_id=p) for u, p in pairs]
        session.delete(role)
    _published(events)


def _assignment_parts(session, project_id, user_id, role_id):
    for model, object_id, what in ((models.Project, project_id, "project"),
                                   (models.User, user_id, "user"),
                                   (models.Role, role_id, "role")):
        if session.get(model, object_id) is None:
            raise exception.NotFound(f"Could not find {what}: {object_id}.")


def grant(project_id, user_id, role_id):
    with transaction() as session:
        _assignment_parts(session, project_id, user_id, role_id)
        session.execute(insert(models.RoleAssignment).values(
            user_id=user_id, project_id=project_id, role_id=role_id)
            .on_conflict_do_nothing())


def has_grant(project_id, user_id, role_id):
    with reader() as session:
        _assignment_parts(session, project_id, user_id, role_id)
        return session.get(models.RoleAssignment, (user_id, project_id, role_id)) is not None


def revoke_grant(project_id, user_id, role_id):
    """Remove the assignment; the user's tokens on the project are revoked."""
    with transaction() as session:
        _assignment_parts(session, project_id, user_id, role_id)
        gone = session.execute(delete(models.RoleAssignment).where(
            models.RoleAssignment.user_id == user_id,
            models.RoleAssignment.project_id == project_id,
            models.RoleAssignment.role_id == role_id)).rowcount
        if not gone:
            raise exception.NotFound(f"Could not find role assignment of role {role_id} "
                                     f"to user {user_id} on project {project_id}.")
        event = revocations.record(session, user_id=user_id, project_id=project_id)
    _published([event])


def assignments(user_id=None, project_id=None, role_id=None, effective=False):
    """[(user, project, role, prior_role or None)] matching the filters; with
    ``effective`` the implied roles are listed too (prior_role: the assigned
    role that implies them)."""
    with reader() as session:
        query = select(models.User, models.Project, models.Role) \
            .join(models.RoleAssignment, models.RoleAssignment.user_id == models.User.id) \
            .join(models.Project, models.Project.id == models.RoleAssignment.project_id) \
            .join(models.Role, models.Role.id == models.RoleAssignment.role_id) \
            .order_by(models.User.name, models.Project.name, models.Role.name)
        if user_id:
            query = query.where(models.User.id == user_id)
        if project_id:
            query = query.where(models.Project.id == project_id)
        rows = [(u, p, r, None) for u, p, r in session.execute(query).all()]
        if effective:
            roles = {r.name: r for r in session.scalars(select(models.Role)).all()}
            seen = {(u.id, p.id, r.name) for u, p, r, _ in rows}
            for u, p, r, _ in list(rows):
                for name in implied([r.name]):
                    if (u.id, p.id, name) not in seen and name in roles:
                        seen.add((u.id, p.id, name))
                        rows.append((u, p, roles[name], r))
    if role_id:
        rows = [row for row in rows if row[2].id == role_id]
    return rows


# -- application credentials ---------------------------------------------------
def create_app_cred(user_id, project_id, token_roles, name, secret=None, description="",
                    expires_at=None, roles=None, unrestricted=False):
    """A new application credential for the user on the project; (row, secret).
    ``roles`` (ids or names) must be a subset of ``token_roles``, the
    creator's roles on the project; by default all of them."""
    secret = secret or secrets.token_urlsafe(48)
    with reader() as session:
        known = session.scalars(select(models.Role)).all()
    by_id = {r.id: r for r in known}
    by_name = {r.name: r for r in known}
    chosen = []
    for spec in roles or [{"name": n} for n in token_roles]:
        role = by_id.get(spec.get("id")) or by_name.get(spec.get("name"))
        if role is None:
            raise exception.NotFound(f"Could not find role: {spec}.")
        if role.name not in token_roles:
            raise exception.Forbidden(f"The role {role.name} is not one of yours on "
                                      "the project.")
        chosen.append(role.id)
    if expires_at is not None and expires_at <= models.utcnow():
        raise exception.Invalid("expires_at is in the past.")
    cred = create(models.ApplicationCredential(
        name=name, description=description or "", user_id=user_id, project_id=project_id,
        secret_hash=passwords.hash_password(secret), roles=sorted(set(chosen)),
        unrestricted=bool(unrestricted), expires_at=expires_at), "application credential")
    return cred, secret


def app_creds(user_id, name=None):
    with reader() as session:
        query = select(models.ApplicationCredential).where(
            models.ApplicationCredential.user_id == user_id) \
            .order_by(models.ApplicationCredential.name)
        if name:
            query = query.where(models.ApplicationCredential.name == name)
        return session.scalars(query).all()


def app_cred(user_id, cred_id):
    with reader() as session:
        cred = session.get(models.ApplicationCredential, cred_id)
    if cred is None or cred.user_id != user_id:
        raise exception.NotFound(f"Could not find application credential: {cred_id}.")
    return cred


def delete_app_cred(user_id, cred_id):
    """Delete it; the tokens it gave are revoked."""
    with transaction() as session:
        cred = session.get(models.ApplicationCredential, cred_id)
        if cred is None or cred.user_id != user_id:
            raise exception.NotFound(f"Could not find application credential: {cred_id}.")
        event = revocations.record(session, app_cred_id=cred_id)
        session.delete(cred)
    _published([event])


def revoke_token(audit_id):
    """Logout: the token with this audit id stops working everywhere."""
    with transaction() as session:
        event = revocations.record(session, audit_id=audit_id)
    _published([event])


def role_names_by_id(session, ids):
    return session.scalars(select(models.Role.name).where(models.Role.id.in_(ids))).all()


def authenticate_app_cred(cred_id=None, name=None, user_id=None, user_name=None,
                          secret=""):
    """(user, project, roles, credential) of a valid application credential:
    its roles that its user still has on its project. 401 otherwise (the
    secret is checked in every case)."""
    with reader() as session:
        query = select(models.ApplicationCredential)
        if cred_id:
            query = query.where(models.ApplicationCredential.id == cred_id)
        else:
            owner = select(models.User.id).where(
                models.User.id == user_id if user_id else models.User.name == user_name)
            query = query.where(models.ApplicationCredential.name == name,
                                models.ApplicationCredential.user_id.in_(owner))
        cred = session.scalars(query).first()
        good = verify(secret, cred.secret_hash if cred else dummy_hash())
        if cred is None or not good or (cred.expires_at is not None
                                        and cred.expires_at <= models.utcnow()):
            raise exception.NotAuthenticated(UNAUTHORIZED)
        user = session.get(models.User, cred.user_id)
        project = session.get(models.Project, cred.project_id)
        if not user.enabled or not project.enabled:
            raise exception.NotAuthenticated(UNAUTHORIZED)
        have = set(implied(role_names(session, user.id, project.id)))
        roles = [n for n in role_names_by_id(session, cred.roles) if n in have]
    if not roles:
        raise exception.NotAuthenticated(UNAUTHORIZED)
    return user, project, implied(roles), cred
