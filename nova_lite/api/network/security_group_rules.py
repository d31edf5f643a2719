"""/v2.0/security-group-rules: create, list, show, delete (rules are not
updated in Neutron either)."""
from nova_lite.api import context
from nova_lite.api.network import params, schemas, views
from nova_lite.db import models
from nova_lite.db.session import reader, transaction
from nova_lite.network import security_groups

R = models.SecurityGroupRule
FILTERS = {
    "id": (R.id, "str"), "security_group_id": (R.security_group_id, "str"),
    "direction": (R.direction, "str"), "ethertype": (R.ethertype, "str"),
    "protocol": (R.protocol, "str"), "port_range_min": (R.port_range_min, "int"),
    "port_range_max": (R.port_range_max, "int"),
    "remote_ip_prefix": (R.remote_ip_prefix, "str"),
    "remote_group_id": (R.remote_group_id, "str"), "project_id": (R.project_id, "str"),
    "tenant_id": (R.project_id, "str"), "description": (R.description, "str"),
}
SORT_KEYS = {"created_at": "created_at", "direction": "direction",
             "protocol": "protocol", "security_group_id": "security_group_id"}


def create():
    spec = params.body("security_group_rule", schemas.SECURITY_GROUP_RULE_CREATE)
    spec = dict(spec, project_id=params.owner(spec))
    with transaction() as session:
        rule = security_groups.create_rule(session, context.current(), spec)
        body = views.security_group_rule(rule)
    return params.item("security_group_rule", body, 201)


def index():
    ctx = context.current()
    with reader() as session:
        query = params.filtered(security_groups.visible_rules(ctx), FILTERS)
        rows, marker = params.page(session, query, R, SORT_KEYS,
                                   visible=security_groups.visible_rules(ctx))
    return params.collection("security_group_rules",
                             [views.security_group_rule(r) for r in rows], marker,
                             path="security-group-rules")


def show(rule_id):
    with reader() as session:
        rule = security_groups.get_rule(session, context.current(), rule_id)
    return params.item("security_group_rule", views.security_group_rule(rule))


def delete(rule_id):
    with transaction() as session:
        security_groups.delete_rule(session, context.current(), rule_id)
    return params.no_content()


def register(bp):
    bp.add_url_rule("/v2.0/security-group-rules", "security_group_rules", index)
    bp.add_url_rule("/v2.0/security-group-rules", "create_security_group_rule", create,
                    methods=["POST"])
    bp.add_url_rule("/v2.0/security-group-rules/<rule_id>", "security_group_rule", show)
    bp.add_url_rule("/v2.0/security-group-rules/<rule_id>", "delete_security_group_rule",
                    delete, methods=["DELETE"])
