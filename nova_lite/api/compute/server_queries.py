"""Finding servers: the visibility rule, list filters and keyset paging."""
import datetime
import re

import flask
from sqlalchemy import and_, bindparam, or_, select

from nova_lite import exception
from nova_lite.api import pagination
from nova_lite.api.validation import is_uuid
from nova_lite.db import models
from nova_lite.objects import states

I = models.Instance


def _truthy(value):
    return str(value).lower() in ("1", "true", "t", "yes", "y", "on")


def all_projects():
    """Whether the request asks for every project's servers (``all_tenants``)."""
    return _truthy(flask.request.args.get("all_tenants", "0")) or \
        _truthy(flask.request.args.get("all_projects", "0"))


def visible(context, query=None):
    """Servers this context may see: its project's, or all for an admin asking
    (the handler has checked the get_all_tenants rule by then)."""
    query = select(I) if query is None else query
    if not (context.is_admin and all_projects()):
        query = query.where(I.project_id == context.project_id)
    return query


def _live_and_visible(admin):
    """The conditions of ``get``: this uuid, live, the caller's unless admin."""
    conditions = [I.uuid == bindparam("uuid"), ~I.deleted]
    if not admin:
        conditions.append(I.project_id == bindparam("project_id"))
    return conditions


def _get_statement(admin, for_update):
    query = select(I).where(*_live_and_visible(admin))
    return query.with_for_update() if for_update else query


# Built once: a statement built per request costs more CPU than running it.
_GET = {(admin, for_update): _get_statement(admin, for_update)
        for admin in (False, True) for for_update in (False, True)}


# The same, as a plain row whose fields are named as Instance's attributes
# (uuid, metadata_, ...): what a view reads, without building an ORM object.
_COLUMNS = [column.label(key) for key, column in I.__mapper__.columns.items()]
_GET_ROW = {admin: select(*_COLUMNS).where(*_live_and_visible(admin))
            for admin in (False, True)}


def get_row(session, context, server_id):
    """The live server with this id that the context may see, as a read-only
    row with Instance's attribute names, or 404."""
    row = session.execute(_GET_ROW[context.is_admin],
                          {"uuid": server_id, "project_id": context.project_id}).first() \
        if is_uuid(server_id) else None
    if row is None:
        raise exception.NotFound(f"Instance {server_id} could not be found.")
    return row


def get(session, context, server_id, for_update=False):
    """The live server with this id that the context may see, or 404."""
    instance = session.scalars(
        _GET[(context.is_admin, bool(for_update))],
        {"uuid": server_id, "project_id": context.project_id}).first() \
        if is_uuid(server_id) else None
    if instance is None:
        raise exception.NotFound(f"Instance {server_id} could not be found.")
    return instance


def _status_clause(status):
    clauses = []
    for vm_state, tasks, excluded in states.states_for_status(status):
        clause = I.vm_state == vm_state
        if tasks:
            clause = and_(clause, I.task_state.in_(tasks))
        elif excluded:
            clause = and_(clause, or_(I.task_state.is_(None), I.task_state.not_in(excluded)))
        clauses.append(clause)
    if not clauses:
        raise exception.Invalid(f"Invalid status value: {status}")
    return or_(*clauses)


def _regex(pattern):
    """The name filter is a regular expression (as in Nova); check it before
    PostgreSQL does, so a bad one is a 400, not a database error."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise exception.Invalid(f"Invalid name filter {pattern!r}: {exc}") from None
    return pattern


def _since(raw):
    try:
        moment = datetime.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise exception.Invalid(f"Invalid changes-since value: {raw}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment


def list_query(context):
    """The filtered, ordered query for GET /servers[/detail], plus its page size."""
    args = flask.request.args
    query = visible(context)
    if "changes-since" in args:
        query = query.where(I.updated_at >= _since(args["changes-since"]))
    elif not (context.is_admin and _truthy(args.get("deleted", "0"))):
        query = query.where(~I.deleted)
    if args.get("name"):
        query = query.where(I.name.regexp_match(_regex(args["name"])))
    if args.get("status"):
        query = query.where(_status_clause(args["status"]))
    if args.get("image"):
        query = query.where(I.image_ref == args["image"].rsplit("/", 1)[-1])
    if args.get("flavor"):
        query = query.where(I.flavor_id == args["flavor"].rsplit("/", 1)[-1])
    if args.get("reservation_id"):
        query = query.where(I.reservation_id == args["reservation_id"])
    if args.get("host") and context.is_admin:
        query = query.where(I.host == args["host"])
    if args.get("tenant_id") and context.is_admin:
        query = query.where(I.project_id == args["tenant_id"])
    return query


def page(session, context):
    """One page of servers, newest first, after ``marker`` (keyset, never OFFSET)."""
    limit = pagination.limit()
    query = list_query(context)
    marker = pagination.marker()
    if marker:
        # Another project's server marks nothing for a member: the same 400
        # as a uuid nobody has.
        mark_query = select(I.created_at, I.uuid).where(I.uuid == marker)
        if not context.is_admin:
            mark_query = mark_query.where(I.project_id == context.project_id)
        mark = session.execute(mark_query).first() if is_uuid(marker) else None
        if mark is None:
            raise exception.Invalid(f"marker [{marker}] not found")
        query = query.where(or_(I.created_at < mark.created_at,
                                and_(I.created_at == mark.created_at, I.uuid < mark.uuid)))
    query = query.order_by(I.created_at.desc(), I.uuid.desc()).limit(limit)
    return session.scalars(query).all(), limit
