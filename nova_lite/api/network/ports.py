"""/v2.0/ports: create, list, show, update, delete.

Who may do what, as Neutron's default policy says it: a port belongs to a
project; its owner, the owner of its network and admins see it. Ports go on
the caller's own networks or shared ones. Addresses (``fixed_ips`` with an
``ip_address``) and MACs may be chosen by whom the policy rules
``create_port:fixed_ips:ip_address`` and ``create_port:mac_address`` allow
(the network's owner and admins by default).

What nova-lite adds: ``device_owner`` values ``compute:*`` and ``network:*``
belong to nova-lite itself (a server's NICs and floating IPs), so users can
neither set them nor delete or re-purpose such ports here; a server's ports
are attached and detached through the Compute API."""
import flask
from sqlalchemy import or_, select

from nova_lite import exception
from nova_lite.api import context
from nova_lite.api.network import params, schemas, views
from nova_lite.db import models
from nova_lite.db.session import reader, transaction
from nova_lite.network import (exceptions, ipam, networks, notify, ports, scope,
                               security_groups)

P = models.Port
FILTERS = {
    "id": (P.id, "str"), "name": (P.name, "str"), "description": (P.description, "str"),
    "network_id": (P.network_id, "str"), "project_id": (P.project_id, "str"),
    "tenant_id": (P.project_id, "str"), "device_id": (P.device_id, "str"),
    "device_owner": (P.device_owner, "str"), "mac_address": (P.mac_address, "str"),
    "status": (P.status, "str"), "admin_state_up": (P.admin_state_up, "bool"),
    "binding:host_id": (P.binding_host_id, "str"),
    "port_security_enabled": (P.port_security_enabled, "bool"),
}
SORT_KEYS = {"name": "name", "created_at": "created_at", "network_id": "network_id",
             "device_id": "device_id", "mac_address": "mac_address"}
RESERVED_OWNERS = ("compute:", "network:")


class PortInUse(exception.Conflict):
    neutron_type = "PortInUse"
    message = "Port %(port)s is in use by %(owner)s %(device)s: %(hint)s"


class PortSecurityAndIPRequiredForSecurityGroups(exception.Invalid):
    neutron_type = "PortSecurityAndIPRequiredForSecurityGroups"
    message = "Port security must be enabled and port must have an IP address in " \
              "order to use security groups."


class PortSecurityPortHasSecurityGroup(exception.Conflict):
    neutron_type = "PortSecurityPortHasSecurityGroup"
    message = "Port has security group associated. Cannot disable port security or " \
              "IP address until security group is removed"


def visible_ports(ctx):
    query = select(P)
    if not ctx.is_admin:
        owned_networks = select(models.Network.id).where(
            scope.owned(models.Network.project_id, ctx))
        query = query.where(or_(scope.owned(P.project_id, ctx),
                                P.network_id.in_(owned_networks)))
    return query


def get_port(session, ctx, port_id, for_update=False):
    query = visible_ports(ctx).where(P.id == str(port_id))
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    port = session.scalars(query).first()
    if port is None:
        raise exceptions.PortNotFound(port=port_id)
    return port


def _fixed_ips_filter(query):
    """``?fixed_ips=ip_address=10.0.0.5`` / ``fixed_ips=subnet_id=...``."""
    for raw in flask.request.args.getlist("fixed_ips"):
        key, _, value = raw.partition("=")
        if key not in ("ip_address", "subnet_id") or not value:
            raise exception.Invalid(f"Invalid fixed_ips filter '{raw}': use "
                                    "ip_address=<address> or subnet_id=<id>")
        column = models.IpAllocation.address if key == "ip_address" \
            else models.IpAllocation.subnet_id
        query = query.where(P.id.in_(select(models.IpAllocation.port_id)
                                     .where(column == value)))
    for group_id in flask.request.args.getlist("security_groups"):
        query = query.where(P.id.in_(
            select(models.PortSecurityGroup.port_id)
            .where(models.PortSecurityGroup.security_group_id == group_id)))
    return query


def _views(session, rows):
    ids = [p.id for p in rows]
    addresses = ipam.addresses_of(session, ids)
    groups = security_groups.groups_by_port(session, ids)
    return [views.port(p, addresses[p.id], groups[p.id]) for p in rows]


def _check_device(session, ctx, spec, action="create_port"):
    """nova-lite's own owners, and another project's server as the device,
    are for whom the ``:device_owner`` / ``:device_id`` rules allow (admins
    by default)."""
    owner = spec.get("device_owner")
    if owner and owner.startswith(RESERVED_OWNERS):
        ctx.authorize(f"{action}:device_owner")
    if spec.get("device_id"):
        other = session.scalar(select(models.Instance.project_id).where(
            models.Instance.uuid == spec["device_id"]))
        if other is not None and other != ctx.project_id:
            ctx.authorize(f"{action}:device_id")


def _groups(session, ctx, project_id, requested):
    """Ids of the requested groups, which must be the port's project's."""
    if ctx.is_admin and project_id != ctx.project_id:
        found = session.scalars(select(models.SecurityGroup.id).where(
            models.SecurityGroup.project_id == project_id,
            models.SecurityGroup.id.in_(list(requested)))).all()
        missing = [g for g in requested if g not in found]
        if missing:
            raise security_groups.SecurityGroupNotFound(id=missing[0])
        return list(dict.fromkeys(requested))
    ids = []
    for wanted in requested:
        try:
            ids += security_groups.resolve(session, project_id, [wanted])
        except exception.Invalid:
            raise security_groups.SecurityGroupNotFound(id=wanted) from None
    return list(dict.fromkeys(ids))


def create():
    spec = params.body("port", schemas.PORT_CREATE)
    ctx = context.current()
    project_id = networks.owner_project(ctx, params.owner(spec))
    port_security = params.to_bool(spec.get("port_security_enabled", True),
                                   "port_security_enabled")
    with transaction() as session:
        _check_device(session, ctx, spec)
        network = networks.get_network(session, ctx, spec["network_id"], lock="share")
        owns_network = ctx.is_admin or scope.owns(ctx, network.project_id)
        if not (owns_network or network.shared):
            raise networks.PolicyNotAuthorized(rule="create_port")
        if any("ip_address" in f for f in spec.get("fixed_ips", [])):
            ctx.authorize("create_port:fixed_ips:ip_address",
                          {"network:project_id": network.project_id})
        if "mac_address" in spec:
            ctx.authorize("create_port:mac_address",
                          {"network:project_id": network.project_id})
        if "binding:host_id" in spec:
            ctx.authorize("create_port:binding:host_id")
        if "security_groups" in spec:
            group_ids = _groups(session, ctx, project_id, spec["security_groups"])
        elif port_security:
            group_ids = [security_groups.ensure_default(session, project_id).id]
        else:
            group_ids = []
        if group_ids and not port_security:
            raise PortSecurityAndIPRequiredForSecurityGroups()
        port = ports.create(
            session, network, project_id, device_id=spec.get("device_id", ""),
            device_owner=spec.get("device_owner", ""), fixed_ips=spec.get("fixed_ips"),
            security_group_ids=group_ids, mac=spec.get("mac_address"),
            name=spec.get("name", ""), port_security=port_security,
            binding_host_id=spec.get("binding:host_id") or None)
        if spec.get("description") or "admin_state_up" in spec:
            port.description = spec.get("description", "")
            port.admin_state_up = params.to_bool(spec.get("admin_state_up", True),
                                                 "admin_state_up")
            port.updated_at = None          # still as made, not "changed"
            session.flush()
        body = _views(session, [port])[0]
    return params.item("port", body, 201)


def index():
    ctx = context.current()
    with reader() as session:
        query = _fixed_ips_filter(params.filtered(visible_ports(ctx), FILTERS))
        rows, marker = params.page(session, query, P, SORT_KEYS,
                                   visible=visible_ports(ctx))
        items = _views(session, rows)
    return params.collection("ports", items, marker)


def show(port_id):
    with reader() as session:
        port = get_port(session, context.current(), port_id)
        body = _views(session, [port])[0]
    return params.item("port", body)


def _reserved(port):
    return port.device_owner.startswith(RESERVED_OWNERS)


def update(port_id):
    spec = params.body("port", schemas.PORT_UPDATE)
    ctx = context.current()
    with transaction() as session:
        port = get_port(session, ctx, port_id, for_update=True)
        networks.require_owner(ctx, port.project_id, "update_port")
        if "fixed_ips" in spec:
            held = sorted((s, a) for s, a in ipam.addresses_of(session, [port.id])[port.id])
            asked = sorted((f.get("subnet_id"), f.get("ip_address"))
                           for f in spec["fixed_ips"])
            if asked != held:
                raise exception.Invalid("Changing the fixed_ips of a port is not "
                                        "supported: make a new port.")
        moves = [k for k in ("device_id", "device_owner")
                 if k in spec and spec[k] != getattr(port, k)]
        if moves:
            if _reserved(port):
                ctx.authorize(f"update_port:{moves[0]}")
            _check_device(session, ctx, spec, "update_port")
        if "binding:host_id" in spec:
            ctx.authorize("update_port:binding:host_id")
        port_security = params.to_bool(spec.get("port_security_enabled",
                                                port.port_security_enabled),
                                       "port_security_enabled")
        current = security_groups.groups_by_port(session, [port.id])[port.id]
        if "security_groups" in spec:
            wanted = _groups(session, ctx, port.project_id, spec["security_groups"])
        else:
            wanted = current
        if not port_security and wanted:
            if "security_groups" in spec:
                raise PortSecurityAndIPRequiredForSecurityGroups()
            raise PortSecurityPortHasSecurityGroup()
        if port_security != port.port_security_enabled:
            port.port_security_enabled = port_security
            notify.changed(session, ctx,
                           instance_uuids=[port.device_id] if port.device_id else [])
        security_groups.set_port_groups(session, ctx, port, wanted)
        for key in ("name", "description", "device_id", "device_owner"):
            if key in spec:
                setattr(port, key, spec[key] or "")
        if "admin_state_up" in spec:
            port.admin_state_up = params.to_bool(spec["admin_state_up"], "admin_state_up")
        if "binding:host_id" in spec:
            port.binding_host_id = spec["binding:host_id"] or None
        port.updated_at = models.utcnow()
        session.flush()
        body = _views(session, [port])[0]
    return params.item("port", body)


def delete(port_id):
    ctx = context.current()
    with transaction() as session:
        port = get_port(session, ctx, port_id)
        networks.require_owner(ctx, port.project_id, "delete_port")
        # Lock order floating IPs -> port, as associating one takes them.
        session.execute(select(models.FloatingIP.id).where(
            models.FloatingIP.port_id == port.id).with_for_update())
        port = get_port(session, ctx, port_id, for_update=True)
        if port.device_owner.startswith("network:"):
            raise PortInUse(port=port.id, owner=port.device_owner, device=port.device_id,
                            hint="it cannot be deleted directly via the port API")
        if port.device_owner.startswith("compute:") and port.device_id:
            raise PortInUse(port=port.id, owner="server", device=port.device_id,
                            hint="detach it through the Compute API "
                                 "(openstack server remove port) or delete the server")
        floating = session.scalars(select(models.FloatingIP.id).where(
            models.FloatingIP.port_id == port.id)).all()
        ports.delete(session, port.id)
        if floating and port.device_id:
            notify.changed(session, ctx, instance_uuids=[port.device_id])
    return params.no_content()


def register(bp):
    bp.add_url_rule("/v2.0/ports", "ports", index)
    bp.add_url_rule("/v2.0/ports", "create_port", create, methods=["POST"])
    bp.add_url_rule("/v2.0/ports/<port_id>", "port", show)
    bp.add_url_rule("/v2.0/ports/<port_id>", "update_port", update, methods=["PUT"])
    bp.add_url_rule("/v2.0/ports/<port_id>", "delete_port", delete, methods=["DELETE"])
