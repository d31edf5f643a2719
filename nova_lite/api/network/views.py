"""Networking v2 resource bodies, with the attributes openstacksdk reads.

Every resource carries ``project_id`` and ``tenant_id``, ``created_at`` and
``updated_at`` (ISO 8601, Z), ``revision_number`` (1 when made, 2 once
changed: there is no revision counter), ``description`` and ``tags: []``."""
from nova_lite.api.timeutil import iso

AVAILABILITY_ZONE = "nova"


def _host(address):
    """An INET value as a bare address."""
    return str(address).split("/")[0] if address is not None else None


def _standard(obj):
    created = iso(obj.created_at)
    return {"project_id": obj.project_id, "tenant_id": obj.project_id,
            "description": getattr(obj, "description", "") or "",
            "created_at": created, "updated_at": iso(obj.updated_at) or created,
            "revision_number": 2 if obj.updated_at else 1, "tags": []}


def network(net, subnet_ids, admin=False):
    """Admins also see the provider attributes (Neutron's ``provider``
    extension: its policy shows them to admins only): every network is a
    VXLAN segment whose VNI is ``segmentation_id``, on no physical network."""
    body = {"id": net.id, "name": net.name, "status": net.status,
            "admin_state_up": net.admin_state_up, "shared": net.shared,
            "router:external": net.external, "is_default": net.is_default,
            "subnets": list(subnet_ids), "mtu": net.mtu, "port_security_enabled": True,
            "availability_zones": [AVAILABILITY_ZONE], "availability_zone_hints": [],
            "ipv4_address_scope": None, "ipv6_address_scope": None,
            "l2_adjacency": True}
    if admin:
        body.update({"provider:network_type": "vxlan", "provider:physical_network": None,
                     "provider:segmentation_id": net.segmentation_id})
    body.update(_standard(net))
    return body


def subnet(sub):
    body = {"id": sub.id, "name": sub.name, "network_id": sub.network_id,
            "ip_version": sub.ip_version, "cidr": str(sub.cidr),
            "gateway_ip": _host(sub.gateway_ip),
            "allocation_pools": list(sub.allocation_pools or []),
            "dns_nameservers": list(sub.dns_nameservers or []),
            "host_routes": list(sub.host_routes or []), "enable_dhcp": sub.enable_dhcp,
            "ipv6_ra_mode": sub.ipv6_ra_mode, "ipv6_address_mode": sub.ipv6_address_mode,
            "subnetpool_id": None, "segment_id": None, "service_types": [],
            "dns_publish_fixed_ip": False}
    body.update(_standard(sub))
    return body


def port(p, fixed_ips, group_ids):
    """``fixed_ips``: [(subnet_id, address)]."""
    bound = bool(p.binding_host_id)
    body = {"id": p.id, "name": p.name, "network_id": p.network_id,
            "mac_address": p.mac_address, "admin_state_up": p.admin_state_up,
            "status": p.status, "device_id": p.device_id, "device_owner": p.device_owner,
            "fixed_ips": [{"subnet_id": subnet_id, "ip_address": address}
                          for subnet_id, address in fixed_ips],
            "security_groups": list(group_ids),
            "port_security_enabled": p.port_security_enabled,
            "allowed_address_pairs": [], "extra_dhcp_opts": [],
            "binding:host_id": p.binding_host_id or "",
            "binding:vif_type": "bridge" if bound else "unbound",
            "binding:vif_details": {"port_filter": True} if bound else {},
            "binding:vnic_type": "normal", "binding:profile": {},
            "ip_allocation": "immediate"}
    body.update(_standard(p))
    return body


def floating_ip(fip):
    # Derived from port_id: a port deleted under a racing association leaves
    # port_id NULL (ON DELETE SET NULL) with the other columns as they were.
    associated = fip.port_id is not None
    body = {"id": fip.id, "floating_ip_address": _host(fip.floating_ip_address),
            "floating_network_id": fip.floating_network_id, "port_id": fip.port_id,
            "fixed_ip_address": _host(fip.fixed_ip_address) if associated else None,
            "router_id": None, "status": "ACTIVE" if associated else "DOWN",
            "port_forwardings": [], "qos_policy_id": None}
    body.update(_standard(fip))
    return body


def security_group_rule(rule):
    body = {"id": rule.id, "security_group_id": rule.security_group_id,
            "direction": rule.direction, "ethertype": rule.ethertype,
            "protocol": rule.protocol, "port_range_min": rule.port_range_min,
            "port_range_max": rule.port_range_max,
            "remote_ip_prefix": str(rule.remote_ip_prefix) if rule.remote_ip_prefix
            else None,
            "remote_group_id": rule.remote_group_id, "remote_address_group_id": None}
    body.update(_standard(rule))
    return body


def security_group(group, rules):
    body = {"id": group.id, "name": group.name, "stateful": group.stateful,
            "shared": False,
            "security_group_rules": [security_group_rule(r) for r in rules]}
    body.update(_standard(group))
    return body
