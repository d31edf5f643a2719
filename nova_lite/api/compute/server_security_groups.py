"""Server actions addSecurityGroup / removeSecurityGroup (202), and
GET /servers/{id}/os-security-groups.

A group is added to or removed from every port of the server, in one
transaction that also tells the conductor, which refreshes the host's
firewall (nova_lite.network.notify)."""
import flask
from sqlalchemy import delete, select

from nova_lite import exception
from nova_lite.api import context, relay, validation
from nova_lite.api.compute import server_queries
from nova_lite.db import models
from nova_lite.db.session import reader, transaction
from nova_lite.network import notify, ports, security_groups

NAME_SCHEMA = {"type": "object", "required": ["name"], "additionalProperties": False,
               "properties": {"name": {"type": "string", "minLength": 1,
                                       "maxLength": 255}}}


def _group(session, ctx, name):
    try:
        (group_id,) = security_groups.resolve(session, ctx.project_id, [name])
    except exception.Invalid:
        raise exception.NotFound(f"Security group {name} not found for project "
                                 f"{ctx.project_id}.") from None
    return group_id


def _server_ports(session, ctx, server_id):
    instance = server_queries.get(session, ctx, server_id)
    found = ports.of_devices(session, [instance.uuid])
    if not found:
        raise exception.Invalid(f"Server {server_id} has no network ports to put in a "
                                f"security group.")
    return instance, found


def add(server_id, value):
    validation.check(NAME_SCHEMA, value)
    ctx = context.current()
    with transaction() as session:
        instance, found = _server_ports(session, ctx, server_id)
        group_id = _group(session, ctx, value["name"])
        members = set(session.scalars(select(models.PortSecurityGroup.port_id).where(
            models.PortSecurityGroup.security_group_id == group_id,
            models.PortSecurityGroup.port_id.in_([p.id for p in found]))))
        if len(members) == len(found):
            raise exception.Invalid(f"Security group {value['name']} is already "
                                    f"associated with the instance {instance.uuid}")
        session.add_all(models.PortSecurityGroup(port_id=p.id, security_group_id=group_id)
                        for p in found if p.id not in members)
        notify.changed(session, ctx, instance_uuids=[instance.uuid])
    relay.wake()
    return "", 202


def remove(server_id, value):
    validation.check(NAME_SCHEMA, value)
    ctx = context.current()
    with transaction() as session:
        instance, found = _server_ports(session, ctx, server_id)
        group_id = _group(session, ctx, value["name"])
        removed = session.execute(delete(models.PortSecurityGroup).where(
            models.PortSecurityGroup.security_group_id == group_id,
            models.PortSecurityGroup.port_id.in_([p.id for p in found]))).rowcount
        if not removed:
            raise exception.Invalid(f"Security Group {value['name']} not associated "
                                    f"with the instance {instance.uuid}")
        notify.changed(session, ctx, instance_uuids=[instance.uuid])
    relay.wake()
    return "", 202


def index(server_id):
    ctx = context.current()
    with reader() as session:
        instance = server_queries.get(session, ctx, server_id)
        groups = session.scalars(
            select(models.SecurityGroup).distinct()
            .join(models.PortSecurityGroup,
                  models.PortSecurityGroup.security_group_id == models.SecurityGroup.id)
            .join(models.Port, models.Port.id == models.PortSecurityGroup.port_id)
            .where(models.Port.device_id == instance.uuid)
            .order_by(models.SecurityGroup.name)).all()
        rules = session.scalars(select(models.SecurityGroupRule).where(
            models.SecurityGroupRule.security_group_id.in_([g.id for g in groups]),
            models.SecurityGroupRule.direction == "ingress")).all()
    return flask.jsonify({"security_groups": [
        {"id": g.id, "name": g.name, "description": g.description,
         "tenant_id": g.project_id,
         "rules": [_rule(r, g.id) for r in rules if r.security_group_id == g.id]}
        for g in groups]})


def _rule(rule, group_id):
    """A rule as Nova's os-security-groups shows it."""
    return {"id": rule.id, "parent_group_id": group_id,
            "ip_protocol": rule.protocol, "from_port": rule.port_range_min,
            "to_port": rule.port_range_max,
            "ip_range": {"cidr": str(rule.remote_ip_prefix)} if rule.remote_ip_prefix
            else {}, "group": {}}


def register(bp):
    bp.add_url_rule("/v2.1/servers/<server_id>/os-security-groups",
                    "server_security_groups", index)
