"""Ports: a NIC on a network with a MAC, addresses and security groups.

``create`` does it all in the caller's transaction: the port row (a random MAC
under [network] base_mac, drawn again on the rare clash), one address per
subnet asked for (or the first IPv4 subnet with room plus every SLAAC IPv6
subnet), and its groups. ``delete`` frees the addresses and any floating IP
association in the same transaction."""
import ipaddress
import random

from sqlalchemy import bindparam, insert, select, text, update

from nova_lite.conf import CONF
from nova_lite.db import models
from nova_lite.network import exceptions, ipam, scope

COMPUTE_OWNER = "compute:nova"
FLOATING_OWNER = "network:floatingip"
MAC_ATTEMPTS = 16


def random_mac():
    base = CONF.network.base_mac.split(":")[:3]
    return ":".join(base + [f"{random.getrandbits(8):02x}" for _ in range(3)])


def get(session, port_id):
    port = session.get(models.Port, port_id)
    if port is None:
        raise exceptions.PortNotFound(port=port_id)
    return port


_SUBNETS_OF = (select(models.Subnet)
               .where(models.Subnet.network_id == bindparam("network_id"))
               .order_by(models.Subnet.ip_version, models.Subnet.created_at))
_ADD_GROUPS = insert(models.PortSecurityGroup.__table__)


def subnets_of(session, network_id):
    return session.scalars(_SUBNETS_OF, {"network_id": network_id}).all()


def create(session, network, project_id, *, device_id="", device_owner="", fixed_ips=None,
           security_group_ids=(), mac=None, name="", port_security=True,
           binding_host_id=None, subnets=None, load=True):
    """A new port on ``network`` (a models.Network). ``fixed_ips`` is a list of
    {"subnet_id"?, "ip_address"?}; None means automatic. ``subnets``: the
    network's (``subnets_of``), when the caller has them already. Returns the
    port (a models.Port), or only its id with ``load=False``. Raises
    IpAddressExhausted, IpAddressInUse, InvalidIpForSubnet, MacAddressInUse;
    ProjectRequired without a ``project_id``."""
    values = {"id": models.new_uuid(), "network_id": network.id,
              "project_id": scope.require_project(project_id),
              "name": name or "", "description": "", "device_id": device_id or "",
              "device_owner": device_owner or "", "admin_state_up": True,
              "status": "DOWN", "binding_host_id": binding_host_id,
              "port_security_enabled": port_security}
    _insert_with_mac(session, values, mac, network.id)
    port_id, mac_address = values["id"], values["mac_address"]
    if subnets is None:
        subnets = subnets_of(session, network.id)
    for subnet, address in _requested_addresses(subnets, fixed_ips, network):
        _assign(session, subnet, port_id, mac_address, address, network)
    if port_security and security_group_ids:
        session.execute(_ADD_GROUPS, [{"port_id": port_id, "security_group_id": group_id}
                                      for group_id in dict.fromkeys(security_group_ids)])
    if not load:
        return port_id
    session.flush()
    return session.get(models.Port, port_id)


_INSERT = text("""
    INSERT INTO ports (id, network_id, project_id, name, description, mac_address,
                       device_id, device_owner, admin_state_up, status,
                       binding_host_id, port_security_enabled, preserve_on_delete,
                       created_at)
    VALUES (:id, :network_id, :project_id, :name, :description, :mac_address,
            :device_id, :device_owner, :admin_state_up, :status,
            :binding_host_id, :port_security_enabled, false, now())
    ON CONFLICT (mac_address) DO NOTHING RETURNING id""")


def _insert_with_mac(session, values, mac, network_id):
    """Insert the port row; a random MAC that is taken is drawn again (a MAC
    the caller chose is MacAddressInUse)."""
    for _ in range(MAC_ATTEMPTS if mac is None else 1):
        values["mac_address"] = mac.lower() if mac else random_mac()
        if session.execute(_INSERT, values).scalar():
            return
    raise exceptions.MacAddressInUse(network=network_id, mac=values["mac_address"])


def _requested_addresses(subnets, fixed_ips, network):
    """[(subnet, address or None)] the port should get."""
    if fixed_ips is None:
        chosen = [s for s in subnets if s.ip_version == 4][:1]
        chosen += [s for s in subnets if s.ip_version == 6]
        return [(s, None) for s in chosen]
    by_id = {s.id: s for s in subnets}
    wanted = []
    for spec in fixed_ips:
        subnet_id, address = spec.get("subnet_id"), spec.get("ip_address")
        if subnet_id is not None:
            subnet = by_id.get(subnet_id)
            if subnet is None:
                raise exceptions.SubnetNotFound(subnet=subnet_id)
        elif address is not None:
            subnet = _subnet_holding(subnets, address)
        else:
            raise exceptions.InvalidIpForSubnet(address="(none)")
        wanted.append((subnet, address))
    return wanted


def _subnet_holding(subnets, address):
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise exceptions.InvalidIpForSubnet(address=address) from None
    for subnet in subnets:
        if ip in ipaddress.ip_network(str(subnet.cidr)):
            return subnet
    raise exceptions.InvalidIpForSubnet(address=address)


def _assign(session, subnet, port_id, mac_address, address, network):
    if subnet.ip_version == 6 and subnet.ipv6_address_mode in (None, "slaac",
                                                                "dhcpv6-stateless"):
        if address is not None and address != str(ipam.eui64(
                ipaddress.ip_network(str(subnet.cidr)), mac_address)):
            raise exceptions.InvalidIpForSubnet(address=address)
        return ipam.allocate_slaac(session, subnet, port_id, mac_address)
    return ipam.allocate(session, subnet, port_id, address, network_label=network.id)


def delete(session, port_id):
    """Free the port's addresses and floating IP association, then drop it."""
    ipam.release_port(session, port_id)
    session.execute(update(models.FloatingIP).where(models.FloatingIP.port_id == port_id)
                    .values(port_id=None, fixed_ip_address=None, status="DOWN"))
    session.execute(text("DELETE FROM ports WHERE id = :id"), {"id": port_id})


def of_devices(session, device_ids, owner_prefix="compute:"):
    """Ports whose device_id is one of ``device_ids`` (servers' NICs)."""
    if not device_ids:
        return []
    return session.scalars(select(models.Port)
                           .where(models.Port.device_id.in_(list(device_ids)),
                                  models.Port.device_owner.startswith(owner_prefix))
                           .order_by(models.Port.created_at, models.Port.id)).all()


def delete_for_devices(session, device_ids):
    """Delete every compute port of these servers; returns how many."""
    ports = of_devices(session, device_ids)
    for port in ports:
        delete(session, port.id)
    return len(ports)
