"""Floating IPs: an address of an external network, held by a port of its own
there (device_owner ``network:floatingip``, device_id the floating IP's id),
and NATed by the guest's host to one fixed address of a port.

    allocate     a port on the external network (its pool's lowest free
                 address, or the one an admin asks for) + the floating_ips row
    associate    port_id (+ fixed_ip_address, default the port's first IPv4);
                 one floating IP per fixed address (ux_floating_ips_fixed)
    disassociate port_id back to NULL (doing it twice is a no-op)
    release      the row and its port go, the address is free again

Every association change tells the hosts (``notify.changed``) in the same
transaction. Status is ACTIVE while associated, DOWN otherwise. In this flat
model every network is routed by the hosts, so any port on a non-external
network can take a floating IP."""
import ipaddress

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from nova_lite import exception
from nova_lite.db import models
from nova_lite.network import exceptions, ipam, networks, notify, ports, scope

F = models.FloatingIP


class FloatingIPNotFound(exception.NotFound):
    neutron_type = "FloatingIPNotFound"
    message = "Floating IP %(floatingip)s could not be found"


class BadFloatingIPRequest(exception.Invalid):
    neutron_type = "BadRequest"
    message = "Bad floatingip request: %(reason)s."


class ExternalGatewayForFloatingIPNotFound(exception.NotFound):
    # 404, as Neutron answers: ``openstack server add floating ip`` then tries
    # the server's next port.
    neutron_type = "ExternalGatewayForFloatingIPNotFound"
    message = ("External network %(network)s is not reachable from port %(port)s: it "
               "is itself on an external network. Therefore, cannot associate it "
               "with a Floating IP.")


class FloatingIPPortAlreadyAssociated(exception.Conflict):
    neutron_type = "FloatingIPPortAlreadyAssociated"
    message = ("Cannot associate floating IP %(floating_ip_address)s (%(fip_id)s) with "
               "port %(port_id)s using fixed IP %(fixed_ip)s, as that fixed IP already "
               "has a floating IP on external network %(net_id)s.")


def visible(context):
    query = select(F)
    if not context.is_admin:
        query = query.where(scope.owned(F.project_id, context))
    return query


def get(session, context, floating_ip_id, for_update=False):
    query = visible(context).where(F.id == str(floating_ip_id))
    if for_update:
        query = query.with_for_update()
    fip = session.scalars(query).first()
    if fip is None:
        raise FloatingIPNotFound(floatingip=floating_ip_id)
    return fip


def external_network(session, context, network_id):
    network = networks.get_network(session, context, network_id, lock="share")
    if not network.external:
        raise BadFloatingIPRequest(reason=f"The network {network.id} is not external; "
                                          "floating IPs come from external networks")
    return network


def allocate(session, context, floating_network_id, *, project_id=None,
             floating_ip_address=None, subnet_id=None, port_id=None,
             fixed_ip_address=None, description=""):
    """A new floating IP on the external network (and associated if
    ``port_id`` is given). IpAddressExhausted when the pool is empty."""
    project_id = networks.owner_project(context, project_id)
    network = external_network(session, context, floating_network_id)
    if floating_ip_address is not None:
        context.authorize("create_floatingip:floating_ip_address")
    fixed_ips = _pool_request(session, network, floating_ip_address, subnet_id)
    fip_id = models.new_uuid()
    port = ports.create(session, network, project_id, device_id=fip_id,
                        device_owner=ports.FLOATING_OWNER, fixed_ips=fixed_ips,
                        port_security=False)
    address = ipam.addresses_of(session, [port.id])[port.id][0][1]
    fip = F(id=fip_id, project_id=project_id, floating_network_id=network.id,
            floating_port_id=port.id, floating_ip_address=address, status="DOWN",
            description=description or "")
    session.add(fip)
    session.flush()
    if port_id is not None:
        associate(session, context, fip, port_id, fixed_ip_address)
    return fip


def _pool_request(session, network, address, subnet_id):
    """fixed_ips for the floating IP's own port: one IPv4 address."""
    subnets = [s for s in ports.subnets_of(session, network.id) if s.ip_version == 4]
    if subnet_id is not None:
        subnets = [s for s in subnets if s.id == subnet_id]
        if not subnets:
            raise BadFloatingIPRequest(reason=f"Subnet {subnet_id} is not an IPv4 subnet "
                                              f"of network {network.id}")
    if not subnets:
        raise BadFloatingIPRequest(reason=f"Network {network.id} does not contain any "
                                          "IPv4 subnet")
    if address is not None:
        try:
            ip = ipaddress.ip_address(str(address))
        except ValueError:
            raise BadFloatingIPRequest(reason=f"'{address}' is not an IP address") \
                from None
        holding = [s for s in subnets if ip in ipaddress.ip_network(str(s.cidr))]
        if not holding:
            raise exceptions.InvalidIpForSubnet(address=address)
        return [{"subnet_id": holding[0].id, "ip_address": str(ip)}]
    return [{"subnet_id": subnets[0].id}]


def _target_port(session, context, port_id):
    port = session.scalars(select(models.Port).where(models.Port.id == str(port_id))
                           .with_for_update()).first()
    if port is None or not (context.is_admin or scope.owns(context, port.project_id)):
        raise exceptions.PortNotFound(port=port_id)
    network = session.get(models.Network, port.network_id)
    if network.external or port.device_owner.startswith("network:"):
        raise ExternalGatewayForFloatingIPNotFound(network=network.id, port=port.id)
    return port


def _fixed_address(session, port, wanted):
    """The port's address the floating IP maps to: ``wanted`` (one of its
    IPv4 addresses) or its first IPv4 address."""
    held = [addr for _, addr in ipam.addresses_of(session, [port.id])[port.id]
            if ipaddress.ip_address(addr).version == 4]
    if wanted is None:
        if not held:
            raise BadFloatingIPRequest(reason=f"Port {port.id} does not have any IPv4 "
                                              "address")
        return held[0]
    try:
        wanted = str(ipaddress.ip_address(str(wanted)))
    except ValueError:
        raise BadFloatingIPRequest(reason=f"'{wanted}' is not an IP address") from None
    if wanted not in held:
        raise BadFloatingIPRequest(reason=f"Port {port.id} does not have fixed ip "
                                          f"{wanted}")
    return wanted


def associate(session, context, fip, port_id, fixed_ip_address=None):
    """Map ``fip`` (locked by the caller or just made) to a port's fixed
    address; moving it from another port is allowed, as in Neutron."""
    port = _target_port(session, context, port_id)
    fixed = _fixed_address(session, port, fixed_ip_address)
    current_fixed = str(fip.fixed_ip_address).split("/")[0] if fip.fixed_ip_address \
        else None
    if fip.port_id == port.id and current_fixed == fixed:
        return fip
    taken = session.scalars(select(F).where(F.port_id == port.id,
                                            F.fixed_ip_address == fixed,
                                            F.id != fip.id)).first()
    if taken is not None:
        raise _already_associated(fip, port.id, fixed, taken)
    previous_device = _device_of(session, fip.port_id)
    try:
        with session.begin_nested():
            fip.port_id, fip.fixed_ip_address, fip.status = port.id, fixed, "ACTIVE"
            fip.updated_at = models.utcnow()
            session.flush()
    except IntegrityError:
        # A concurrent request mapped another floating IP to this address.
        raise _already_associated(fip, port.id, fixed, None) from None
    notify.changed(session, context,
                   instance_uuids=[d for d in (previous_device, port.device_id) if d])
    return fip


def _already_associated(fip, port_id, fixed, other):
    return FloatingIPPortAlreadyAssociated(
        floating_ip_address=str(fip.floating_ip_address).split("/")[0], fip_id=fip.id,
        port_id=port_id, fixed_ip=fixed,
        net_id=other.floating_network_id if other else fip.floating_network_id)


def _device_of(session, port_id):
    if not port_id:
        return None
    return session.scalar(select(models.Port.device_id).where(models.Port.id == port_id))


def disassociate(session, context, fip):
    """Unmap ``fip``; a floating IP that is not associated stays as it is."""
    if fip.port_id is None:
        return fip
    device = _device_of(session, fip.port_id)
    fip.port_id, fip.fixed_ip_address, fip.status = None, None, "DOWN"
    fip.updated_at = models.utcnow()
    session.flush()
    notify.changed(session, context, instance_uuids=[device] if device else [])
    return fip


def update(session, context, floating_ip_id, changes):
    """``changes``: port_id (None disassociates), fixed_ip_address, description."""
    fip = get(session, context, floating_ip_id, for_update=True)
    if "port_id" in changes:
        if changes["port_id"] is None:
            if changes.get("fixed_ip_address") is not None:
                raise BadFloatingIPRequest(reason="fixed_ip_address cannot be given "
                                                  "without port_id")
            disassociate(session, context, fip)
        else:
            associate(session, context, fip, changes["port_id"],
                      changes.get("fixed_ip_address"))
    elif changes.get("fixed_ip_address") is not None:
        if fip.port_id is None:
            raise BadFloatingIPRequest(reason="fixed_ip_address cannot be given without "
                                              "port_id")
        associate(session, context, fip, fip.port_id, changes["fixed_ip_address"])
    if "description" in changes:
        fip.description = changes["description"] or ""
        fip.updated_at = models.utcnow()
    session.flush()
    return fip


def release(session, context, floating_ip_id):
    """Delete the floating IP and its port: the address is free again. A
    second release finds nothing (FloatingIPNotFound)."""
    fip = get(session, context, floating_ip_id, for_update=True)
    device = _device_of(session, fip.port_id)
    floating_port_id = fip.floating_port_id
    session.delete(fip)
    session.flush()
    ports.delete(session, floating_port_id)
    if device:
        notify.changed(session, context, instance_uuids=[device])


def fip_address(fip):
    return str(fip.floating_ip_address).split("/")[0]


def fixed_address(fip):
    if fip.port_id is None or not fip.fixed_ip_address:
        return None
    return str(fip.fixed_ip_address).split("/")[0]
