"""os-networks (GET list and show), Nova's proxy onto the Networking API for
older clients, in nova-network's format (shared/nova-api-samples/os-networks):
the project's own and shared networks, with their first IPv4 and IPv6
subnet's cidr, gateway, netmask, broadcast and DNS. Non-admins get the
user-level fields, admins all of them (as Nova does)."""
import ipaddress

import flask
from sqlalchemy import or_, select

from nova_lite import exception
from nova_lite.api import context
from nova_lite.api.timeutil import iso
from nova_lite.db import models
from nova_lite.db.session import reader
from nova_lite.network import scope

N = models.Network
USER_FIELDS = ("id", "cidr", "netmask", "gateway", "broadcast", "dns1", "dns2",
               "cidr_v6", "gateway_v6", "label", "netmask_v6")
ADMIN_FIELDS = ("created_at", "updated_at", "deleted_at", "deleted", "injected", "bridge",
                "vlan", "vpn_public_address", "vpn_public_port", "vpn_private_address",
                "dhcp_start", "project_id", "host", "bridge_interface", "multi_host",
                "priority", "rxtx_base", "mtu", "dhcp_server", "enable_dhcp",
                "share_address")


def _query(ctx):
    """What Nova lists: the project's own networks and the shared ones."""
    return select(N).where(or_(scope.owned(N.project_id, ctx), N.shared))


def _subnets(session, network_ids):
    found = {}
    for subnet in session.scalars(select(models.Subnet).where(
            models.Subnet.network_id.in_(list(network_ids)))
            .order_by(models.Subnet.created_at, models.Subnet.id)):
        found.setdefault((subnet.network_id, subnet.ip_version), subnet)
    return found


def view(network, v4, v6, is_admin):
    values = dict.fromkeys(USER_FIELDS + ADMIN_FIELDS)
    values.update({"id": network.id, "label": network.name})
    if v4 is not None:
        net = ipaddress.ip_network(str(v4.cidr))
        dns = list(v4.dns_nameservers or []) + [None, None]
        pools = v4.allocation_pools or []
        values.update({"cidr": str(net), "netmask": str(net.netmask),
                       "broadcast": str(net.broadcast_address),
                       "gateway": str(v4.gateway_ip).split("/")[0] if v4.gateway_ip
                       else None, "dns1": dns[0], "dns2": dns[1],
                       "dhcp_start": pools[0]["start"] if pools else None,
                       "enable_dhcp": v4.enable_dhcp})
    if v6 is not None:
        net6 = ipaddress.ip_network(str(v6.cidr))
        values.update({"cidr_v6": str(net6), "netmask_v6": str(net6.prefixlen),
                       "gateway_v6": str(v6.gateway_ip).split("/")[0] if v6.gateway_ip
                       else None})
    values.update({"created_at": iso(network.created_at),
                   "updated_at": iso(network.updated_at), "deleted": False,
                   "injected": False, "bridge": network.bridge,
                   "project_id": network.project_id, "multi_host": True,
                   "mtu": network.mtu, "share_address": network.shared})
    fields = USER_FIELDS + ADMIN_FIELDS if is_admin else USER_FIELDS
    return {field: values[field] for field in sorted(fields)}


def _views(session, ctx, found):
    subnets = _subnets(session, [n.id for n in found])
    return [view(n, subnets.get((n.id, 4)), subnets.get((n.id, 6)), ctx.is_admin)
            for n in found]


def index():
    ctx = context.current()
    with reader() as session:
        found = session.scalars(_query(ctx).order_by(N.created_at, N.id)).all()
        items = _views(session, ctx, found)
    return flask.jsonify({"networks": items})


def show(network_id):
    ctx = context.current()
    with reader() as session:
        found = session.scalars(_query(ctx).where(N.id == network_id)).all()
        if not found:
            raise exception.NotFound("Network could not be found")
        (item,) = _views(session, ctx, found)
    return flask.jsonify({"network": item})


def register(bp):
    bp.add_url_rule("/v2.1/os-networks", "os_networks", index)
    bp.add_url_rule("/v2.1/os-networks/<network_id>", "os_network", show)
