"""Flavors: list, detail, show for everyone; create, delete and (from
microversion 2.55) update of the description for admins (the policy rules
os_compute_api:os-flavor-manage:create, :delete and :update).

A private flavor is seen only by admins and the projects granted it
(flavor_access, nova_lite/db/flavors.py); to anyone else it is 404 as a
flavorid nobody made, in show, list markers and os-extra_specs alike."""
import copy
import functools
import uuid

import flask
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from nova_lite import exception
from nova_lite.api import context, links, pagination, validation
from nova_lite.api.compute import flavor_cache
from nova_lite.api.middleware import microversion
from nova_lite.db import flavors as flavor_db
from nova_lite.db import models
from nova_lite.db.session import reader, transaction

DESCRIPTION = {"type": ["string", "null"], "maxLength": 65535,
               "pattern": r"^[^\x00-\x1f\x7f]*$"}


@functools.lru_cache(maxsize=None)
def create_schema_for(version):
    """The POST /flavors body at ``version`` (2.55 description)."""
    schema = copy.deepcopy(CREATE_SCHEMA)
    if version >= (2, 55):
        schema["properties"]["flavor"]["properties"]["description"] = DESCRIPTION
    return schema


def create_schema():
    return create_schema_for(microversion.requested())


CREATE_SCHEMA = {
    "type": "object", "required": ["flavor"], "additionalProperties": False,
    "properties": {"flavor": {
        "type": "object", "required": ["name", "ram", "vcpus", "disk"],
        "additionalProperties": False,
        "properties": {
            "name": validation.NAME,
            "id": {"type": ["string", "null"], "minLength": 1, "maxLength": 255,
                   "pattern": r"^(?! )[a-zA-Z0-9. _-]+(?<! )$"},
            "ram": {"type": ["integer", "string"], "pattern": r"^[0-9]+$", "minimum": 1},
            "vcpus": {"type": ["integer", "string"], "pattern": r"^[0-9]+$", "minimum": 1},
            "disk": {"type": ["integer", "string"], "pattern": r"^[0-9]+$", "minimum": 0},
            "OS-FLV-EXT-DATA:ephemeral": {"type": ["integer", "string"],
                                          "pattern": r"^[0-9]+$", "minimum": 0},
            "swap": {"type": ["integer", "string"], "pattern": r"^[0-9]*$", "minimum": 0},
            "rxtx_factor": {"type": ["number", "string"], "minimum": 0},
            "os-flavor-access:is_public": {"type": ["boolean", "string"]},
        },
    }},
}


def view(flavor, detail=True, version=None):
    """A flavor's body at ``version`` (default: the request's): 2.55 adds
    description (list too), 2.61 extra_specs (detail, show; if the caller may
    read them), 2.75 swap 0 (not "") when it has none."""
    version = version or microversion.requested()
    body = {"id": flavor.flavorid, "name": flavor.name,
            "links": links.compute_links("flavors", flavor.flavorid)}
    if version >= (2, 55):
        body["description"] = flavor.description
    if detail:
        body.update({
            "ram": flavor.memory_mb, "vcpus": flavor.vcpus, "disk": flavor.root_gb,
            "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb,
            "OS-FLV-DISABLED:disabled": flavor.disabled,
            "os-flavor-access:is_public": flavor.is_public,
            "swap": flavor.swap or (0 if version >= (2, 75) else ""),
            "rxtx_factor": flavor.rxtx_factor,
        })
        if version >= (2, 61) and context.current().can(
                "os_compute_api:os-flavor-extra-specs:index"):
            body["extra_specs"] = {k: str(v) for k, v in
                                   (flavor.extra_specs or {}).items()}
    return body


def _bool_arg(name):
    raw = flask.request.args.get(name)
    if raw is None:
        return None
    lowered = raw.lower()
    if lowered in ("none",):
        return "all"
    if lowered in ("true", "t", "1", "yes", "y", "on"):
        return True
    if lowered in ("false", "f", "0", "no", "n", "off"):
        return False
    raise exception.Invalid(f"Invalid is_public filter [{raw}]")


def _int_arg(name):
    raw = flask.request.args.get(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise exception.Invalid(f"Invalid {name} filter [{raw}]") from None


def find(session, flavorid, for_update=False):
    """The flavor the caller may see, or 404 as for a nonexistent one."""
    ctx = context.current()
    return flavor_db.find(session, flavorid, ctx.project_id, ctx.is_admin, for_update)


def _list(detail):
    ctx = context.current()
    is_public = _bool_arg("is_public") if ctx.is_admin else None
    query = flavor_db.listed(select(models.Flavor), ctx.project_id, ctx.is_admin, is_public)
    for arg, column in (("minRam", models.Flavor.memory_mb),
                        ("minDisk", models.Flavor.root_gb)):
        value = _int_arg(arg)
        if value is not None:
            query = query.where(column >= value)
    sort_key = flask.request.args.get("sort_key", "flavorid")
    sort_columns = {"flavorid": models.Flavor.flavorid, "id": models.Flavor.id,
                    "name": models.Flavor.name, "memory_mb": models.Flavor.memory_mb,
                    "vcpus": models.Flavor.vcpus, "root_gb": models.Flavor.root_gb}
    if sort_key not in sort_columns:
        raise exception.Invalid(f"Invalid sort_key {sort_key}")
    column = sort_columns[sort_key]
    descending = flask.request.args.get("sort_dir", "asc") == "desc"
    limit = pagination.limit()
    marker = pagination.marker()
    with reader() as session:
        if marker:
            # Only a flavor the caller may see marks a page: another
            # project's private flavor is "not found" as a random id is.
            mark = session.scalars(flavor_db.visible(
                select(models.Flavor).where(models.Flavor.flavorid == marker),
                ctx.project_id, ctx.is_admin)).first()
            if mark is None:
                raise exception.Invalid(f"marker [{marker}] not found")
            mark_value = getattr(mark, column.key)
            query = query.where(or_(column < mark_value if descending else column > mark_value,
                                    (column == mark_value) & (models.Flavor.id > mark.id)))
        query = query.order_by(column.desc() if descending else column, models.Flavor.id)
        flavors = session.scalars(query.limit(limit)).all()
    items = [view(f, detail) for f in flavors]
    body = {"flavors": items}
    nxt = pagination.next_link(links.base_url() + "/compute/v2.1/flavors"
                               + ("/detail" if detail else ""), items, limit)
    if nxt:
        body["flavors_links"] = nxt
    return flask.jsonify(body)


def index():
    return _list(detail=False)


def detail():
    return _list(detail=True)


def show(flavor_id):
    with reader() as session:
        flavor = find(session, flavor_id)
    return flask.jsonify({"flavor": view(flavor)})


def _to_bool(value):
    if isinstance(value, bool):
        return value
    lowered = str(value).lower()
    if lowered in ("true", "t", "1", "yes", "y", "on"):
        return True
    if lowered in ("false", "f", "0", "no", "n", "off"):
        return False
    raise exception.Invalid(f"Invalid boolean value {value!r}")


@validation.body(create_schema)
def create(body):
    spec = body["flavor"]
    flavorid = spec.get("id") or None
    try:
        values = dict(
            name=spec["name"], vcpus=int(spec["vcpus"]), memory_mb=int(spec["ram"]),
            root_gb=int(spec["disk"]),
            ephemeral_gb=int(spec.get("OS-FLV-EXT-DATA:ephemeral", 0) or 0),
            swap=int(spec.get("swap") or 0),
            rxtx_factor=float(spec.get("rxtx_factor", 1.0)),
            is_public=_to_bool(spec.get("os-flavor-access:is_public", True)),
            description=spec.get("description"))
    except ValueError as exc:
        raise exception.Invalid(f"Invalid flavor: {exc}") from None
    if values["vcpus"] < 1 or values["memory_mb"] < 1:
        raise exception.Invalid("ram and vcpus must be at least 1.")
    flavor = models.Flavor(flavorid=flavorid or str(uuid.uuid4()), extra_specs={}, **values)
    try:
        with transaction() as session:
            session.add(flavor)
    except IntegrityError:
        raise exception.Conflict(f"Flavor with name {spec['name']} or id {flavorid} "
                                 "already exists.") from None
    flavor_cache.forget()
    return flask.jsonify({"flavor": view(flavor)})


UPDATE_SCHEMA = {
    "type": "object", "required": ["flavor"], "additionalProperties": False,
    "properties": {"flavor": {
        "type": "object", "required": ["description"], "additionalProperties": False,
        "properties": {"description": DESCRIPTION},
    }},
}


@microversion.since((2, 55))
@validation.body(UPDATE_SCHEMA)
def update(flavor_id, body):
    """PUT /flavors/{id} (2.55): only its description changes."""
    with transaction() as session:
        flavor = find(session, flavor_id, for_update=True)
        flavor.description = body["flavor"]["description"]
    flavor_cache.forget()
    return flask.jsonify({"flavor": view(flavor)})


def delete(flavor_id):
    with transaction() as session:
        session.delete(find(session, flavor_id))
    flavor_cache.forget()
    return "", 202


def extra_specs(flavor_id):
    with reader() as session:
        flavor = find(session, flavor_id)
    return flask.jsonify({"extra_specs": flavor.extra_specs or {}})


def register(bp):
    bp.add_url_rule("/v2.1/flavors", "flavors", index)
    bp.add_url_rule("/v2.1/flavors", "create_flavor", create, methods=["POST"])
    bp.add_url_rule("/v2.1/flavors/detail", "flavors_detail", detail)
    bp.add_url_rule("/v2.1/flavors/<flavor_id>", "flavor", show)
    bp.add_url_rule("/v2.1/flavors/<flavor_id>", "update_flavor", update, methods=["PUT"])
    bp.add_url_rule("/v2.1/flavors/<flavor_id>", "delete_flavor", delete, methods=["DELETE"])
    bp.add_url_rule("/v2.1/flavors/<flavor_id>/os-extra_specs", "flavor_extra_specs",
                    extra_specs)
