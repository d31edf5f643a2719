"""Roles: POST/GET/PATCH/DELETE /v3/roles[/{id}] (the built-in admin,
member, reader and service cannot be renamed or deleted)."""
import flask
from sqlalchemy import select

from nova_lite.api import validation
from nova_lite.api.identity.views import collection, role_view
from nova_lite.db import identity, models
from nova_lite.db.session import reader

_ROLE = {"type": "object", "properties": {
    "name": validation.NAME, "description": {"type": ["string", "null"]},
    "domain_id": {"type": "null"}, "options": {"type": "object"}}}
CREATE = {"type": "object", "required": ["role"], "properties": {"role": {
    **_ROLE, "required": ["name"]}}}
UPDATE = {"type": "object", "required": ["role"], "properties": {"role": _ROLE}}


def list_roles():
    """identity:list_roles (admin)."""
    with reader() as session:
        query = select(models.Role).order_by(models.Role.name)
        if flask.request.args.get("name"):
            query = query.where(models.Role.name == flask.request.args["name"])
        roles = session.scalars(query).all()
    return collection("roles", [role_view(r) for r in roles])


def show_role(role_id):
    """identity:get_role (admin)."""
    return flask.jsonify({"role": role_view(identity.get(models.Role, role_id, "role"))})


@validation.body(CREATE)
def create_role(body):
    """identity:create_role (admin)."""
    spec = body["role"]
    role = identity.create(models.Role(name=spec["name"],
                                       description=spec.get("description") or ""), "role")
    response = flask.jsonify({"role": role_view(role)})
    response.status_code = 201
    return response


@validation.body(UPDATE)
def update_role(role_id, body):
    """identity:update_role (admin)."""
    spec = {k: (v or "") if k == "description" else v for k, v in body["role"].items()
            if k in ("name", "description")}
    return flask.jsonify({"role": role_view(identity.update_role(role_id, spec))})


def delete_role(role_id):
    """identity:delete_role (admin). Its assignments go, and their tokens."""
    identity.delete_role(role_id)
    return "", 204


def register(bp):
    bp.add_url_rule("/v3/roles", "list_roles", list_roles)
    bp.add_url_rule("/v3/roles", "create_role", create_role, methods=["POST"])
    bp.add_url_rule("/v3/roles/<role_id>", "show_role", show_role)
    bp.add_url_rule("/v3/roles/<role_id>", "update_role", update_role, methods=["PATCH"])
    bp.add_url_rule("/v3/roles/<role_id>", "delete_role", delete_role, methods=["DELETE"])
