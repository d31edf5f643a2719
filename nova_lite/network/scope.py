"""Whose a network resource is, for every module of nova_lite.network.

Every resource belongs to a project: nothing is made without one (a request
with no project, e.g. an unscoped token, gets ProjectRequired, a 400), and a
context without a project owns nothing, so it never sees or changes a
resource that has none either (rows without a project_id may exist from
before this rule; only admins see them).

``owned(column, context)`` is the SQL condition "this row is the caller's";
``owns(context, project_id)`` the same test in Python. Both are false for a
context without a project (``column == None`` would be ``IS NULL`` in SQL,
and ``None == None`` is true in Python: the leak these guard against)."""
from sqlalchemy import false

from nova_lite import exception


class ProjectRequired(exception.Invalid):
    neutron_type = "BadRequest"
    message = ("This request has no project: a project-scoped token is needed to make "
               "networking resources (an admin may name the owner with project_id).")


def owned(column, context):
    """SQL: the row's project is the caller's (never true without a project)."""
    if not context.project_id:
        return false()
    return column == context.project_id


def owns(context, project_id):
    """Python: ``project_id`` is the caller's project (never without one)."""
    return bool(context.project_id) and project_id == context.project_id


def require_project(project_id):
    """The project a new resource is made for, which must be one."""
    if not project_id:
        raise ProjectRequired()
    return project_id
