"""network_info: everything a compute host needs to wire an instance's NICs,
built from the database by the scheduler and conductor (compute hosts never
read it). It travels in ``build_and_run_instance`` and ``refresh_network``.

One dict per NIC (vif), in boot order::

    {"port_id": "…", "mac": "fa:16:3e:…", "network_id": "…", "network_name": "private",
     "bridge": "nlbr-1a2b3c4d", "mtu": 1500, "segmentation_id": 1042, "external": False,
     "tap": "tap1a2b3c4d-5e",
     "port_security": True,
     "subnets": [{"id": "…", "cidr": "10.0.0.0/24", "ip_version": 4,
                  "gateway": "10.0.0.1", "enable_dhcp": True, "dns_nameservers": [],
                  "ipv6_address_mode": None}],
     "fixed_ips": [{"subnet_id": "…", "address": "10.0.0.5", "ip_version": 4}],
     "floating_ips": [{"address": "172.24.4.10", "fixed_address": "10.0.0.5",
                       "bridge": "nlbr-9f8e7d6c", "network_id": "…",
                       "segmentation_id": 7, "cidr": "172.24.4.0/24",
                       "gateway": "172.24.4.1"}],
     "security_group_rules": [{"direction": "ingress", "ethertype": "IPv4",
                               "protocol": "tcp", "port_range_min": 22,
                               "port_range_max": 22,
                               "remote_ip_prefixes": ["0.0.0.0/0"]},
                              {"direction": "ingress", "ethertype": "IPv4",
                               "protocol": None, "port_range_min": None,
                               "port_range_max": None,
                               "remote_group_id": "5e1f…"}]}

``segmentation_id`` is the network's VXLAN VNI (hosts with ``[network]
overlay = vxlan`` join its segment); ``external`` says it is a floating IP
pool (with ``[network] external_interface`` its bridge is the provider uplink).

A rule has ``remote_ip_prefixes`` (its remote_ip_prefix, or the whole address
family when it names nothing) or ``remote_group_id``: the members of a remote
group are not listed here (that would make every member's network_info grow
with the group, and change whenever a member comes or goes); the host keeps
them as a set, told by nova_lite.network.membership. Traffic a rule does not
allow is dropped unless ``port_security`` is off; replies to allowed traffic
always pass (stateful).
"""
import ipaddress

from sqlalchemy import select

from nova_lite.db import models
from nova_lite.network import ipam


def tap_name(port_id):
    return ("tap" + port_id)[:14]


def _subnet_info(subnet):
    return {"id": subnet.id, "cidr": str(subnet.cidr), "ip_version": subnet.ip_version,
            "gateway": str(subnet.gateway_ip) if subnet.gateway_ip else None,
            "enable_dhcp": subnet.enable_dhcp,
            "dns_nameservers": list(subnet.dns_nameservers or []),
            "ipv6_address_mode": subnet.ipv6_address_mode}


def for_instances(session, instance_uuids):
    """{instance_uuid: network_info} for the given instances (ports whose
    device_id is the instance), in a handful of queries whatever their number."""
    uuids = list(instance_uuids)
    result = {uuid: [] for uuid in uuids}
    if not uuids:
        return result
    ports = session.scalars(select(models.Port).where(
        models.Port.device_id.in_(uuids), models.Port.device_owner.startswith("compute:"))
                            .order_by(models.Port.created_at, models.Port.id)).all()
    if not ports:
        return result
    port_ids = [port.id for port in ports]
    networks = {n.id: n for n in session.scalars(select(models.Network).where(
        models.Network.id.in_({port.network_id for port in ports})))}
    subnets_by_net = {}
    for subnet in session.scalars(select(models.Subnet).where(
            models.Subnet.network_id.in_(networks)).order_by(models.Subnet.ip_version)):
        subnets_by_net.setdefault(subnet.network_id, []).append(subnet)
    addresses = ipam.addresses_of(session, port_ids)
    versions = {s.id: s.ip_version for subs in subnets_by_net.values() for s in subs}
    floating = _floating_by_port(session, port_ids)
    rules = _rules_by_port(session, port_ids)
    for port in ports:
        network = networks[port.network_id]
        result[port.device_id].append({
            "port_id": port.id, "mac": port.mac_address, "network_id": network.id,
            "network_name": network.name, "bridge": network.bridge, "mtu": network.mtu,
            "segmentation_id": network.segmentation_id, "external": network.external,
            "tap": tap_name(port.id), "port_security": port.port_security_enabled,
            "subnets": [_subnet_info(s) for s in subnets_by_net.get(network.id, [])],
            "fixed_ips": [{"subnet_id": subnet_id, "address": address,
                           "ip_version": versions.get(subnet_id, 4)}
                          for subnet_id, address in addresses.get(port.id, [])],
            "floating_ips": floating.get(port.id, []),
            "security_group_rules": rules.get(port.id, []),
        })
    return result


def _floating_by_port(session, port_ids):
    rows = session.execute(
        select(models.FloatingIP, models.Network, models.Subnet)
        .join(models.Network, models.Network.id == models.FloatingIP.floating_network_id)
        .join(models.Subnet, models.Subnet.network_id == models.Network.id)
        .where(models.FloatingIP.port_id.in_(port_ids))).all()
    result = {}
    for fip, network, subnet in rows:
        address = ipaddress.ip_address(str(fip.floating_ip_address))
        if address not in ipaddress.ip_network(str(subnet.cidr)):
            continue
        result.setdefault(fip.port_id, []).append({
            "address": str(address), "fixed_address": str(fip.fixed_ip_address),
            "bridge": network.bridge, "network_id": network.id,
            "segmentation_id": network.segmentation_id, "cidr": str(subnet.cidr),
            "gateway": str(subnet.gateway_ip) if subnet.gateway_ip else None})
    return result


def _rules_by_port(session, port_ids):
    """Each port's rules; a remote group stays a group id (its members are a
    set on the host, kept by nova_lite.network.membership)."""
    memberships = session.execute(
        select(models.PortSecurityGroup.port_id, models.PortSecurityGroup.security_group_id)
        .where(models.PortSecurityGroup.port_id.in_(port_ids))).all()
    groups_of = {}
    for port_id, group_id in memberships:
        groups_of.setdefault(port_id, []).append(group_id)
    group_ids = {g for gs in groups_of.values() for g in gs}
    if not group_ids:
        return {}
    rules = session.scalars(select(models.SecurityGroupRule).where(
        models.SecurityGroupRule.security_group_id.in_(group_ids))).all()
    by_group = {}
    for rule in rules:
        by_group.setdefault(rule.security_group_id, []).append(_rule_info(rule))
    return {port_id: [rule for g in gs for rule in by_group.get(g, [])]
            for port_id, gs in groups_of.items()}


def _rule_info(rule):
    info = {"direction": rule.direction, "ethertype": rule.ethertype,
            "protocol": rule.protocol, "port_range_min": rule.port_range_min,
            "port_range_max": rule.port_range_max}
    if rule.remote_group_id:
        info["remote_group_id"] = rule.remote_group_id
    elif rule.remote_ip_prefix:
        info["remote_ip_prefixes"] = [str(rule.remote_ip_prefix)]
    else:
        info["remote_ip_prefixes"] = ["::/0" if rule.ethertype == "IPv6" else "0.0.0.0/0"]
    return info


def instances_affected(session, security_group_ids):
    """Servers whose rules come from these groups: their members. (Whoever
    names them as remote group only needs their member addresses, which
    nova_lite.network.membership keeps on the hosts.)"""
    ids = list(security_group_ids)
    if not ids:
        return []
    return session.scalars(
        select(models.Port.device_id).distinct()
        .join(models.PortSecurityGroup,
              models.PortSecurityGroup.port_id == models.Port.id)
        .where(models.Port.device_owner.startswith("compute:"),
               models.PortSecurityGroup.security_group_id.in_(ids))).all()
