"""Neutron's list conventions, written once for every collection:

- filters: ``?name=a&name=b`` (any of), booleans as true/false, both
  ``project_id`` and ``tenant_id``; filters we do not know are ignored, as
  Neutron did before its filter-validation extension;
- ``tags``/``tags-any``: nothing here has tags, so they match nothing;
- ``sort_key``/``sort_dir`` (one key, the id breaks ties), ``limit`` (at most
  [api] max_limit, which is also the page size without one) and ``marker``
  (keyset paging), with ``<collection>_links`` holding the ``next`` page;
- ``fields``: only these attributes in each item.

And request bodies: ``{"network": {...}}``, booleans given as JSON booleans
or "true"/"false", the owner as ``project_id`` or ``tenant_id``."""
import urllib.parse

import flask
from sqlalchemy import false, tuple_

from nova_lite import exception
from nova_lite.api import links, validation
from nova_lite.conf import CONF

TRUE = ("true", "1", "yes", "on", "t", "y")
FALSE = ("false", "0", "no", "off", "f", "n")


def to_bool(value, field):
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise exception.Invalid(f"Invalid input for {field}. Reason: '{value}' is not a "
                            "valid boolean value.")


def to_int(value, field):
    try:
        return int(str(value).strip())
    except ValueError:
        raise exception.Invalid(f"Invalid input for {field}. Reason: '{value}' is not "
                                "an integer.") from None


# -- request bodies ----------------------------------------------------------------------
def body(resource, schema):
    """The validated ``{resource: {...}}`` object of the request."""
    data = validation.json_body()
    if not isinstance(data, dict) or not isinstance(data.get(resource), dict):
        plural = f"{resource}s"
        if isinstance(data, dict) and plural in data:
            raise exception.Invalid(f"Bulk creation of {plural} is not supported: send "
                                    f"one {{\"{resource}\": {{...}}}} per request.")
        raise exception.Invalid(f"Resource body required: {{\"{resource}\": {{...}}}}")
    validation.check(schema, data[resource])
    return data[resource]


def owner(spec):
    """project_id / tenant_id of a create body (None when absent)."""
    project_id, tenant_id = spec.get("project_id"), spec.get("tenant_id")
    if project_id and tenant_id and project_id != tenant_id:
        raise exception.Invalid("'project_id' and 'tenant_id' do not match")
    return project_id or tenant_id


def bools(spec, *fields):
    return {field: to_bool(spec[field], field) for field in fields if field in spec}


# -- list queries ------------------------------------------------------------------------
def _convert(value, kind, name):
    if kind == "bool":
        return to_bool(value, name)
    if kind == "int":
        number = to_int(value, name)
        if not -2**31 <= number < 2**31:          # the columns are PostgreSQL integers
            raise exception.Invalid(f"Invalid input for {name}. Reason: '{value}' is out "
                                    "of range.")
        return number
    return value


def filtered(query, spec):
    """Apply ``?param=value`` filters; ``spec`` maps a parameter to (column,
    kind) with kind "str", "int" or "bool"."""
    args = flask.request.args
    for name, (column, kind) in spec.items():
        values = [v for v in args.getlist(name)]
        if not values:
            continue
        converted = [_convert(v, kind, name) for v in values]
        if len(converted) == 1:
            query = query.where(column == converted[0])
        else:
            query = query.where(column.in_(converted))
    if args.getlist("tags") or args.getlist("tags-any"):
        query = query.where(false())
    return query


def _sort(model, sort_keys):
    keys = flask.request.args.getlist("sort_key")
    dirs = flask.request.args.getlist("sort_dir")
    key = keys[0] if keys else "id"
    if key not in sort_keys:
        raise exception.Invalid(f"{key} is an invalid attribute for sort_key; one of "
                                f"{', '.join(sorted(sort_keys))}")
    direction = dirs[0] if dirs else "asc"
    if direction not in ("asc", "desc"):
        raise exception.Invalid(f"{direction} is an invalid value for sort_dir (asc or "
                                "desc)")
    return getattr(model, sort_keys[key]), direction == "desc"


def page(session, query, model, sort_keys=None, visible=None):
    """(rows, next marker or None) of one page of ``query``.

    The ``marker`` is looked up in ``visible`` (what the caller may see,
    before filters; ``query`` when None): a resource the caller may not see
    is "not found" as an id nobody has, never a sign that it exists."""
    sort_keys = dict(sort_keys or {}, id="id")
    column, descending = _sort(model, sort_keys)
    raw = flask.request.args.get("limit")
    limit = CONF.api.max_limit
    if raw not in (None, ""):
        limit = to_int(raw, "limit")
        if limit < 0:
            raise exception.Invalid("Invalid input for limit. Reason: must be >= 0.")
        limit = min(limit or CONF.api.max_limit, CONF.api.max_limit)
    marker = flask.request.args.get("marker")
    if marker:
        visible = query if visible is None else visible
        mark = session.execute(visible.where(model.id == marker)
                               .with_only_columns(column, model.id)).first()
        if mark is None:
            raise exception.Invalid(f"marker {marker} not found")
        key = tuple_(column, model.id)
        query = query.where(key < tuple(mark) if descending else key > tuple(mark))
    if descending:
        query = query.order_by(column.desc(), model.id.desc())
    else:
        query = query.order_by(column, model.id)
    rows = session.scalars(query.limit(limit + 1)).all()
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].id
    return rows, None


def collection(name, items, next_marker=None, path=None):
    """``{name: items}`` with ``fields`` applied and ``<name>_links``."""
    fields = [f for value in flask.request.args.getlist("fields")
              for f in value.split(",") if f]
    if fields:
        items = [{k: v for k, v in item.items() if k in fields} for item in items]
    body = {name: items}
    if next_marker is not None:
        args = [(k, v) for k, v in flask.request.args.items(multi=True) if k != "marker"]
        args.append(("marker", next_marker))
        href = f"{links.base_url()}/network/v2.0/{path or name}?" \
               f"{urllib.parse.urlencode(args)}"
        body[f"{name}_links"] = [{"rel": "next", "href": href}]
    return flask.jsonify(body)


def item(name, value, status=200):
    fields = [f for v in flask.request.args.getlist("fields") for f in v.split(",") if f]
    if fields:
        value = {k: v for k, v in value.items() if k in fields}
    response = flask.jsonify({name: value})
    response.status_code = status
    return response


def no_content():
    return "", 204
