"""os-security-groups, Nova's proxy onto the Networking API's security groups
for older clients (rules: security_group_rules):

    GET /os-security-groups, /os-security-groups/{id}
    POST /os-security-groups {"security_group": {name, description}}    200
    DELETE /os-security-groups/{id}                                     202

Groups show their ingress rules, as Nova shows them; ``from_port``/``to_port``
of a rule without a range are 1/65535 (tcp, udp) or -1 (others)."""
import flask
from sqlalchemy import select

from nova_lite import exception
from nova_lite.api import context, relay, validation
from nova_lite.db import models
from nova_lite.db.session import reader, transaction
from nova_lite.network import scope, security_groups

G = models.SecurityGroup
_TEXT = {"type": "string", "maxLength": 255}
GROUP_SCHEMA = {
    "type": "object", "required": ["security_group"], "additionalProperties": False,
    "properties": {"security_group": {
        "type": "object", "required": ["name", "description"],
        "additionalProperties": False,
        "properties": {"name": dict(_TEXT, minLength=1), "description": _TEXT}}}}


def _not_found(group_id):
    return exception.NotFound(f"Security group {group_id} not found.")


def rule_view(rule, groups):
    """Nova's rule: ``groups`` maps remote group ids to their rows."""
    low, high = rule.port_range_min, rule.port_range_max
    if rule.protocol and low is None and high is None:
        low, high = (1, 65535) if rule.protocol in ("tcp", "udp") else (-1, -1)
    remote = groups.get(rule.remote_group_id) if rule.remote_group_id else None
    return {"id": rule.id, "parent_group_id": rule.security_group_id,
            "ip_protocol": rule.protocol, "from_port": low, "to_port": high,
            "group": {"name": remote.name, "tenant_id": remote.project_id} if remote
            else {},
            "ip_range": {} if rule.remote_group_id else {
                "cidr": str(rule.remote_ip_prefix) if rule.remote_ip_prefix
                else ("::/0" if rule.ethertype == "IPv6" else "0.0.0.0/0")}}


def remote_groups(session, rules):
    ids = {r.remote_group_id for r in rules if r.remote_group_id}
    if not ids:
        return {}
    return {g.id: g for g in session.scalars(select(G).where(G.id.in_(ids)))}


def _views(session, groups):
    rules = security_groups.rules_by_group(session, [g.id for g in groups])
    remotes = remote_groups(session, [r for rs in rules.values() for r in rs])
    return [{"id": g.id, "name": g.name, "description": g.description,
             "tenant_id": g.project_id,
             "rules": [rule_view(r, remotes) for r in rules[g.id]
                       if r.direction == "ingress"]} for g in groups]


def get(session, ctx, group_id, for_update=False):
    try:
        return security_groups.get_group(session, ctx, group_id, for_update)
    except security_groups.SecurityGroupNotFound:
        raise _not_found(group_id) from None


def index():
    ctx = context.current()
    if ctx.project_id:
        with transaction() as session:
            security_groups.ensure_default(session, ctx.project_id)
    with reader() as session:
        query = security_groups.visible_groups(ctx)
        if not (ctx.is_admin and str(flask.request.args.get("all_tenants", "")).lower()
                in ("1", "true", "yes")):
            query = query.where(scope.owned(G.project_id, ctx))
        found = session.scalars(query.order_by(G.name, G.id)).all()
        items = _views(session, found)
    return flask.jsonify({"security_groups": items})


def show(group_id):
    ctx = context.current()
    with reader() as session:
        (item,) = _views(session, [get(session, ctx, group_id)])
    return flask.jsonify({"security_group": item})


@validation.body(GROUP_SCHEMA)
def create(body):
    spec = body["security_group"]
    ctx = context.current()
    with transaction() as session:
        try:
            group = security_groups.create_group(session, ctx, name=spec["name"],
                                                 description=spec["description"])
        except security_groups.SecurityGroupDefaultAlreadyExists:
            raise exception.Invalid("Security group default already exists.") from None
        (item,) = _views(session, [group])
    return flask.jsonify({"security_group": item})


def delete(group_id):
    ctx = context.current()
    with transaction() as session:
        get(session, ctx, group_id)
        try:
            security_groups.delete_group(session, ctx, group_id)
        except security_groups.SecurityGroupCannotRemoveDefault:
            raise exception.Invalid("Removing default security group not allowed.") \
                from None
        except security_groups.SecurityGroupInUse:
            raise exception.Invalid(f"Security group {group_id} is in use.") from None
    relay.wake()
    return "", 202


def register(bp):
    bp.add_url_rule("/v2.1/os-security-groups", "os_security_groups", index)
    bp.add_url_rule("/v2.1/os-security-groups", "create_os_security_group", create,
                    methods=["POST"])
    bp.add_url_rule("/v2.1/os-security-groups/<group_id>", "os_security_group", show)
    bp.add_url_rule("/v2.1/os-security-groups/<group_id>", "delete_os_security_group",
                    delete, methods=["DELETE"])
