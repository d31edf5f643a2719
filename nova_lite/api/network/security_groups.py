"""/v2.0/security-groups: create, list, show, update, delete (rules
embedded). Listing makes the caller's 'default' group if it has none yet, as
Neutron does."""
import flask
from sqlalchemy import false

from nova_lite.api import context
from nova_lite.api.network import params, schemas, views
from nova_lite.db import models
from nova_lite.db.session import reader, transaction
from nova_lite.network import security_groups

G = models.SecurityGroup
FILTERS = {
    "id": (G.id, "str"), "name": (G.name, "str"), "description": (G.description, "str"),
    "project_id": (G.project_id, "str"), "tenant_id": (G.project_id, "str"),
    "stateful": (G.stateful, "bool"),
}
SORT_KEYS = {"name": "name", "created_at": "created_at"}


def _view(session, group):
    return views.security_group(group, security_groups.rules_by_group(
        session, [group.id])[group.id])


def create():
    spec = params.body("security_group", schemas.SECURITY_GROUP_CREATE)
    with transaction() as session:
        group = security_groups.create_group(
            session, context.current(), name=spec.get("name", ""),
            description=spec.get("description", ""), project_id=params.owner(spec),
            stateful=params.to_bool(spec.get("stateful", True), "stateful"))
        body = _view(session, group)
    return params.item("security_group", body, 201)


def index():
    ctx = context.current()
    if ctx.project_id:
        with transaction() as session:
            security_groups.ensure_default(session, ctx.project_id)
    with reader() as session:
        query = params.filtered(security_groups.visible_groups(ctx), FILTERS)
        shared = flask.request.args.get("shared")
        if shared is not None and params.to_bool(shared, "shared"):
            query = query.where(false())        # no group is shared (no RBAC)
        rows, marker = params.page(session, query, G, SORT_KEYS,
                                   visible=security_groups.visible_groups(ctx))
        rules = security_groups.rules_by_group(session, [g.id for g in rows])
    return params.collection("security_groups",
                             [views.security_group(g, rules[g.id]) for g in rows], marker,
                             path="security-groups")


def show(group_id):
    with reader() as session:
        group = security_groups.get_group(session, context.current(), group_id)
        body = _view(session, group)
    return params.item("security_group", body)


def update(group_id):
    spec = params.body("security_group", schemas.SECURITY_GROUP_UPDATE)
    changes = dict(spec)
    changes.update(params.bools(spec, "stateful"))
    with transaction() as session:
        group = security_groups.update_group(session, context.current(), group_id,
                                             changes)
        body = _view(session, group)
    return params.item("security_group", body)


def delete(group_id):
    with transaction() as session:
        security_groups.delete_group(session, context.current(), group_id)
    return params.no_content()


def register(bp):
    bp.add_url_rule("/v2.0/security-groups", "security_groups", index)
    bp.add_url_rule("/v2.0/security-groups", "create_security_group", create,
                    methods=["POST"])
    bp.add_url_rule("/v2.0/security-groups/<group_id>", "security_group", show)
    bp.add_url_rule("/v2.0/security-groups/<group_id>", "update_security_group", update,
                    methods=["PUT"])
    bp.add_url_rule("/v2.0/security-groups/<group_id>", "delete_security_group", delete,
                    methods=["DELETE"])
