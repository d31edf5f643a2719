"""network_info: everything a compute host needs to wire an instance's NICs,
built from the database by the scheduler and conductor (compute hosts never
read it). It travels in ``build_and_run_instance`` and ``refresh_network``.

One dict per NIC (vif), in boot order::

    {"port_id": "…", "mac": "fa:16:3e:…", "network_id": "…", "network_name": "private",
     "bridge": "nlbr-1a2b3c4d", "mtu": 1500, "tap": "tap1a2b3c4d-5e",
     "port_security": True,
     "subnets": [{"id": "…", "cidr": "10.0.0.0/24", "ip_version": 4,
                  "gateway": "10.0.0.1", "enable_dhcp": True, "dns_nameservers": [],
                  "ipv6_address_mode": None}],
     "fixed_ips": [{"subnet_id": "…", "address": "10.0.0.5", "ip_version": 4}],
     "floating_ips": [{"address": "172.24.4.10", "fixed_address": "10.0.0.5",
                       "bridge": "nlbr-9f8e7d6c", "cidr": "172.24.4.0/24",
                       "gateway": "172.24.4.1"}],
     "security_group_rules": [{"direction": "ingress", "ethertype": "IPv4",
                               "protocol": "tcp", "port_range_min": 22,
                               "port_range_max": 22,
                               "remote_ip_prefixes": ["0.0.0.0/0"]}]}

``remote_ip_prefixes`` is the rule's remote_ip_prefix, or the addresses of
every port in its remote group (as /32 and /128), or the whole address family
when the rule names neither. Traffic a rule does not allow is dropped unless
``port_security`` is off; replies to allowed traffic always pass (stateful).
"""
import ipaddress

from sqlalchemy import or_, select

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
            "bridge": network.bridge, "cidr": str(subnet.cidr),
            "gateway": str(subnet.gateway_ip) if subnet.gateway_ip else None})
    return result


def _rules_by_port(session, port_ids):
    """Each port's rules, remote groups expanded to their members' addresses."""
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
    remote_ids = {r.remote_group_id for r in rules if r.remote_group_id}
    members = _group_member_addresses(session, remote_ids)
    by_group = {}
    for rule in rules:
        by_group.setdefault(rule.security_group_id, []).append(_rule_info(rule, members))
    return {port_id: [rule for g in gs for rule in by_group.get(g, [])]
            for port_id, gs in groups_of.items()}


def _group_member_addresses(session, group_ids):
    if not group_ids:
        return {}
    rows = session.execute(
        select(models.PortSecurityGroup.security_group_id, models.IpAllocation.address)
        .join(models.IpAllocation,
              models.IpAllocation.port_id == models.PortSecurityGroup.port_id)
        .where(models.PortSecurityGroup.security_group_id.in_(group_ids))).all()
    members = {}
    for group_id, address in rows:
        ip = ipaddress.ip_address(str(address).split("/")[0])
        members.setdefault(group_id, []).append(f"{ip}/{ip.max_prefixlen}")
    return members


def _rule_info(rule, members):
    if rule.remote_ip_prefix:
        prefixes = [str(rule.remote_ip_prefix)]
    elif rule.remote_group_id:
        version = 6 if rule.ethertype == "IPv6" else 4
        prefixes = sorted(p for p in members.get(rule.remote_group_id, [])
                          if ipaddress.ip_network(p).version == version)
    else:
        prefixes = ["::/0" if rule.ethertype == "IPv6" else "0.0.0.0/0"]
    return {"direction": rule.direction, "ethertype": rule.ethertype,
            "protocol": rule.protocol, "port_range_min": rule.port_range_min,
            "port_range_max": rule.port_range_max, "remote_ip_prefixes": prefixes}


def instances_affected(session, security_group_ids):
    """Servers whose rules depend on these groups: their members, and the
    members of groups with a rule naming one of them as remote group."""
    ids = list(security_group_ids)
    if not ids:
        return []
    referring = select(models.SecurityGroupRule.security_group_id).where(
        models.SecurityGroupRule.remote_group_id.in_(ids))
    return session.scalars(
        select(models.Port.device_id).distinct()
        .join(models.PortSecurityGroup,
              models.PortSecurityGroup.port_id == models.Port.id)
        .where(models.Port.device_owner.startswith("compute:"),
               or_(models.PortSecurityGroup.security_group_id.in_(ids),
                   models.PortSecurityGroup.security_group_id.in_(referring)))).all()


def referenced_groups(session, instance_uuids):
    """The groups of these instances that some rule names as remote group:
    when one comes or goes, the members of the naming groups need new rules.
    ``instance_uuids``: one uuid or a list."""
    if isinstance(instance_uuids, str):
        instance_uuids = [instance_uuids]
    if not instance_uuids:
        return []
    return session.scalars(
        select(models.PortSecurityGroup.security_group_id).distinct()
        .join(models.Port, models.Port.id == models.PortSecurityGroup.port_id)
        .where(models.Port.device_id.in_(list(instance_uuids)),
               models.PortSecurityGroup.security_group_id.in_(
                   select(models.SecurityGroupRule.remote_group_id).where(
                       models.SecurityGroupRule.remote_group_id.is_not(None))))).all()
