"""Finding servers: the visibility rule, list filters, sorting and keyset paging.

GET /servers[/detail] takes Nova's filters (see FILTERS: who may use which,
from which microversion) and ``sort_key``/``sort_dir`` pairs. A filter the
caller may not use is ignored for a member and refused (400) for an admin,
as Nova does. Every page is a keyset page: ``marker`` is the last server's
uuid, and the next page starts after that server's sort values (ties broken
by uuid), so paging is stable and complete under every sort, never OFFSET.

Each filter and each sort reaches an index (migration 0016 and
tests/functional/test_query_plans.py): an admin's list of every project's
servers sorted by one key walks that key's ``(key, uuid)`` index from the
marker on; a project's own list reads the project's live rows through
ix_instances_project_live (sorting them when the key is not created_at).
"""
import datetime
import re

import flask
from sqlalchemy import and_, bindparam, false, func, or_, select, tuple_

from nova_lite import exception
from nova_lite.api import pagination
from nova_lite.api.middleware import microversion
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


def _regex(pattern, name="name"):
    """The name and ip filters are regular expressions (as in Nova); check
    one before PostgreSQL does, so a bad one is a 400, not a database error."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise exception.Invalid(f"Invalid {name} filter {pattern!r}: {exc}") from None
    return pattern


def _moment(raw, name):
    try:
        moment = datetime.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise exception.Invalid(f"Invalid {name} value: {raw}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment


def _bool(raw, name):
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "t", "yes", "y", "on"):
        return True
    if lowered in ("0", "false", "f", "no", "n", "off"):
        return False
    raise exception.Invalid(f"Invalid {name} value: {raw!r} (a boolean is expected)")


def _ip_clause(pattern, family):
    """Servers holding a fixed address of ``family`` that matches ``pattern``
    (through the trigram index on held addresses, 0016)."""
    A, P = models.IpAllocation, models.Port
    address = func.host(A.address)
    held = (select(P.device_id).join(A, A.port_id == P.id)
            .where(A.port_id.is_not(None), func.family(A.address) == family,
                   address.regexp_match(_regex(pattern, "ip" if family == 4 else "ip6"))))
    return I.uuid.in_(held)


def _values(args, name):
    return [v for v in args.getlist(name) if v != ""]


# Filters: name -> (lowest microversion a member may use it at, or None for
# admins only; the clause). Paging, sorting and the visibility switches are
# in PARAMETERS. Nova's filters at the microversions it serves them.
def _eq(column):
    return lambda args, name: column.in_(_values(args, name))


FILTERS = {
    "name": ((2, 1), lambda a, n: I.name.regexp_match(_regex(a[n]))),
    "status": ((2, 1), lambda a, n: or_(*(_status_clause(v) for v in _values(a, n)))),
    "image": ((2, 1), lambda a, n: I.image_ref == a[n].rsplit("/", 1)[-1]),
    "flavor": ((2, 1), lambda a, n: I.flavor_id == a[n].rsplit("/", 1)[-1]),
    "reservation_id": ((2, 1), _eq(I.reservation_id)),
    "ip": ((2, 1), lambda a, n: _ip_clause(a[n], 4)),
    "ip6": ((2, 5), lambda a, n: _ip_clause(a[n], 6)),
    "locked": ((2, 73), lambda a, n: I.locked if _bool(a[n], n) else ~I.locked),
    "user_id": ((2, 83), _eq(I.user_id)),
    "key_name": ((2, 83), _eq(I.key_name)),
    "availability_zone": ((2, 83), _eq(I.availability_zone)),
    "vm_state": ((2, 83), _eq(I.vm_state)),
    "task_state": ((2, 83), _eq(I.task_state)),
    "power_state": ((2, 83), lambda a, n: I.power_state.in_(
        [_int(v, n) for v in _values(a, n)])),
    "host": (None, _eq(I.host)),
    "node": (None, _eq(I.node)),
    "project_id": (None, _eq(I.project_id)),
    "tenant_id": (None, _eq(I.project_id)),
}
# Read elsewhere (visibility, deleted rows, time windows, paging, sorting).
PARAMETERS = {"all_tenants", "all_projects", "deleted", "changes-since", "changes-before",
              "limit", "marker", "sort_key", "sort_dir"}


def _int(raw, name):
    try:
        return int(raw)
    except ValueError:
        raise exception.Invalid(f"Invalid {name} value: {raw!r}") from None


def _usable(context, name):
    """Whether the caller may use filter ``name`` at the requested microversion."""
    since = FILTERS[name][0]
    return context.is_admin or (since is not None and microversion.requested() >= since)


def _check_unknown(context, args):
    """An admin's unknown filter is a 400 (a member's is ignored), as Nova's."""
    if not context.is_admin:
        return
    unknown = sorted(k for k in args if k not in FILTERS and k not in PARAMETERS)
    if unknown:
        raise exception.Invalid(f"Invalid filter(s): {', '.join(unknown)}. Known: "
                                f"{', '.join(sorted(set(FILTERS) | PARAMETERS))}.")


def list_query(context):
    """The filtered query for GET /servers[/detail] (unordered), of rows
    whose fields are named as Instance's attributes (as ``get_row``'s: a
    page of a thousand is read without building ORM objects)."""
    args = flask.request.args
    _check_unknown(context, args)
    query = visible(context, select(*_COLUMNS))
    since = before = None
    if "changes-since" in args:
        since = _moment(args["changes-since"], "changes-since")
        query = query.where(I.updated_at >= since)
    if "changes-before" in args and (context.is_admin
                                     or microversion.requested() >= (2, 66)):
        before = _moment(args["changes-before"], "changes-before")
        if since is not None and since > before:
            raise exception.Invalid("The value of changes-since must be less than or "
                                    "equal to changes-before.")
        query = query.where(I.updated_at <= before)
    if since is None and before is None and not (
            context.is_admin and _truthy(args.get("deleted", "0"))):
        query = query.where(~I.deleted)
    for name, (_, clause) in FILTERS.items():
        if args.get(name) and _usable(context, name):
            query = query.where(clause(args, name))
    return query


# -- sorting ------------------------------------------------------------------------------
# Nova's sort keys -> the column (each with its index on live rows, 0016).
SORT_KEYS = {
    "created_at": I.created_at, "updated_at": I.updated_at, "display_name": I.name,
    "hostname": I.name, "uuid": I.uuid, "vm_state": I.vm_state, "task_state": I.task_state,
    "power_state": I.power_state, "launched_at": I.launched_at,
    "terminated_at": I.terminated_at, "host": I.host, "node": I.node,
    "key_name": I.key_name, "availability_zone": I.availability_zone,
    "user_id": I.user_id, "project_id": I.project_id, "image_ref": I.image_ref,
    "instance_type_id": I.flavor_id,
}
# Valid in Nova but not sorted by here (no such column, or one not worth an
# index), and the keys Nova itself ignores: accepted and ignored.
IGNORED_SORT_KEYS = {
    "access_ip_v4", "access_ip_v6", "auto_disk_config", "config_drive",
    "display_description", "kernel_id", "launch_index", "locked_by", "progress",
    "ramdisk_id", "root_device_name",
    # Nova's SERVER_LIST_IGNORE_SORT_KEY
    "architecture", "cell_name", "cleaned", "default_ephemeral_device",
    "default_swap_device", "deleted", "deleted_at", "disable_terminate", "ephemeral_gb",
    "ephemeral_key_uuid", "id", "key_data", "launched_on", "locked", "memory_mb",
    "os_type", "reservation_id", "root_gb", "shutdown_terminate", "user_data", "vcpus",
    "vm_mode",
}
ADMIN_SORT_KEYS = {"host", "node"}
NULLABLE = {c.key for c in SORT_KEYS.values() if c.nullable}
DEFAULT_SORT = [("created_at", "desc")]


def sort_params(context):
    """[(sort key, 'asc'|'desc')] from the sort_key/sort_dir pairs (a missing
    direction is desc, as Nova's); the default newest first."""
    args = flask.request.args
    keys, dirs = args.getlist("sort_key"), args.getlist("sort_dir")
    if len(dirs) > len(keys):
        raise exception.Invalid("The number of sort_dir values must not exceed the "
                                "number of sort_key values.")
    for direction in dirs:
        if direction not in ("asc", "desc"):
            raise exception.Invalid(f"Invalid sort_dir {direction!r}: asc or desc.")
    chosen, seen = [], set()
    for index, key in enumerate(keys):
        if key not in SORT_KEYS and key not in IGNORED_SORT_KEYS:
            raise exception.Invalid(f"Invalid sort_key {key!r}.")
        if key in IGNORED_SORT_KEYS or (key in ADMIN_SORT_KEYS and not context.is_admin):
            continue
        column = SORT_KEYS[key]
        if column.key in seen:
            continue
        seen.add(column.key)
        chosen.append((key, dirs[index] if index < len(dirs) else "desc"))
    return chosen or DEFAULT_SORT


def _columns(sorts):
    """[(column, descending)] of the sort, the tie broken by uuid in the
    first key's direction (so one key's (key, uuid) index gives the order)."""
    cols = [(SORT_KEYS[key], direction == "desc") for key, direction in sorts]
    if all(c.key != "uuid" for c, _ in cols):
        cols.append((I.uuid, cols[0][1]))
    return cols


def _after_one(column, descending, value):
    """Rows after ``value`` in one column's order (PostgreSQL's: NULLs last
    ascending, first descending)."""
    if descending:
        return column.is_not(None) if value is None else column < value
    if value is None:
        return false()
    return or_(column > value, column.is_(None)) if column.key in NULLABLE \
        else column > value


def _segments(cols, mark):
    """Conditions selecting the rows after the marker row ``mark``, as a
    list of disjoint pieces in sort order, each reading one index range
    where it can: one key (and uuid) compares as a row value."""
    if len(cols) == 2 and cols[1][0] is I.uuid and cols[0][1] == cols[1][1]:
        (column, descending), _ = cols
        value, mark_uuid = mark[0], mark[-1]
        if value is not None:
            pair = tuple_(column, I.uuid)
            first = pair < (value, mark_uuid) if descending else pair > (value, mark_uuid)
            if descending or column.key not in NULLABLE:
                return [first]
            return [first, column.is_(None)]
        same = and_(column.is_(None),
                    I.uuid < mark_uuid if descending else I.uuid > mark_uuid)
        return [same, column.is_not(None)] if descending else [same]
    # Several keys: the lexicographic expansion, in one piece.
    pieces, equal = [], []
    for (column, descending), value in zip(cols, mark):
        pieces.append(and_(*equal, _after_one(column, descending, value)))
        equal.append(column.is_(None) if value is None else column == value)
    return [or_(*pieces)]


def _ordered(query, cols):
    return query.order_by(*(c.desc() if d else c.asc() for c, d in cols))


def page(session, context):
    """One page of servers in the requested order, after ``marker`` (keyset,
    never OFFSET): at most ``limit`` read-only rows (see list_query), and
    the page size."""
    limit = pagination.limit()
    query = list_query(context)
    cols = _columns(sort_params(context))
    marker = pagination.marker()
    if not marker:
        return session.execute(_ordered(query, cols).limit(limit)).all(), limit
    # Another project's server marks nothing for a member: the same 400
    # as a uuid nobody has.
    mark_query = select(*(c for c, _ in cols)).where(I.uuid == marker)
    if not context.is_admin:
        mark_query = mark_query.where(I.project_id == context.project_id)
    mark = session.execute(mark_query).first() if is_uuid(marker) else None
    if mark is None:
        raise exception.Invalid(f"marker [{marker}] not found")
    found = []
    for piece in _segments(cols, tuple(mark)):
        if len(found) >= limit:
            break
        found += session.execute(_ordered(query.where(piece), cols)
                                 .limit(limit - len(found))).all()
    return found, limit
