"""Who may see and boot a flavor (Nova's flavor access).

A public flavor is everyone's. A private one (``is_public`` false) is seen
and booted by admins and by the projects granted it (``flavor_projects``,
os-flavor-access); to every other project it does not exist: the same
"Flavor X could not be found." as a flavorid nobody ever made.

``visible(query, project_id, is_admin)`` narrows a query on ``flavors`` to
what that caller may see; ``granted`` is the one indexed query server create
makes, and only for a private flavor."""
from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError

from nova_lite import exception
from nova_lite.db import models

F = models.Flavor
FP = models.FlavorProject


def not_found(flavorid):
    return exception.NotFound(f"Flavor {flavorid} could not be found.")


def _granted_clause(project_id):
    return exists().where(FP.flavor_id == F.id, FP.project_id == project_id)


def visible(query, project_id, is_admin):
    """``query`` (on flavors) narrowed to the flavors this caller may see."""
    if is_admin:
        return query
    if project_id is None:
        return query.where(F.is_public.is_(True))
    return query.where(or_(F.is_public.is_(True), _granted_clause(project_id)))


def listed(query, project_id, is_admin, is_public):
    """Nova's list rule. Non-admins: public and granted flavors, not disabled,
    whatever ``is_public`` says. Admins: ``is_public`` True (the default):
    public ones and private ones granted to their project; False: private
    ones only; "all" (``is_public=none``): all of them."""
    if not is_admin:
        return visible(query, project_id, False).where(F.disabled.is_(False))
    if is_public is None or is_public is True:
        if project_id is None:
            return query.where(F.is_public.is_(True))
        return query.where(or_(F.is_public.is_(True), _granted_clause(project_id)))
    if is_public is False:
        return query.where(F.is_public.is_(False))
    return query


def find(session, flavorid, project_id, is_admin, for_update=False):
    """The flavor this caller may see, or NotFound as for a nonexistent one."""
    query = visible(select(F).where(F.flavorid == str(flavorid)), project_id, is_admin)
    if for_update:
        query = query.with_for_update()
    flavor = session.scalars(query).first()
    if flavor is None:
        raise not_found(flavorid)
    return flavor


def granted(session, flavor_pk, project_id):
    """Whether ``project_id`` was granted the flavor with primary key ``flavor_pk``
    (one lookup on the (flavor_id, project_id) unique index)."""
    if project_id is None:
        return False
    return session.execute(select(FP.id).where(
        FP.flavor_id == flavor_pk, FP.project_id == project_id)).first() is not None


def access_list(session, flavor):
    """[{"flavor_id", "tenant_id"}] of a private flavor; NotFound for a public one."""
    if flavor.is_public:
        raise exception.NotFound("Access list not available for public flavors.")
    projects = session.scalars(select(FP.project_id).where(FP.flavor_id == flavor.id)
                               .order_by(FP.project_id)).all()
    return [{"flavor_id": flavor.flavorid, "tenant_id": p} for p in projects]


def _check_project(session, project_id):
    if session.get(models.Project, project_id) is None:
        raise exception.Invalid(f"Project ID {project_id} is not a valid project.")


def add_access(session, flavor, project_id):
    """Grant ``project_id`` the private ``flavor``: 409 for a public flavor or a
    grant already there, 400 for a project that does not exist."""
    _check_project(session, project_id)
    if flavor.is_public:
        raise exception.Conflict("Can not add access to a public flavor.")
    try:
        with session.begin_nested():
            session.add(FP(flavor_id=flavor.id, project_id=project_id))
    except IntegrityError:
        raise exception.Conflict(
            f"Flavor access already exists for flavor {flavor.flavorid} and project "
            f"{project_id} combination.") from None


def remove_access(session, flavor, project_id):
    """Take the grant back: 404 when there is none."""
    row = session.scalars(select(FP).where(
        FP.flavor_id == flavor.id, FP.project_id == project_id)).first()
    if row is None:
        raise exception.NotFound(
            f"Flavor access not found for {flavor.flavorid} / {project_id} combination.")
    session.delete(row)
