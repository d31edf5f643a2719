"""JSON schemas of the Networking v2 request bodies (the object inside
``{"network": {...}}`` and so on). An attribute we do not implement is a 400,
as Neutron answers "Unrecognized attribute(s)"; values are checked further by
nova_lite.network (CIDRs, addresses, rules)."""

STRING = {"type": "string", "maxLength": 255}
DESCRIPTION = {"type": "string", "maxLength": 255}
NULLABLE_STRING = {"type": ["string", "null"], "maxLength": 255}
BOOL = {"type": ["boolean", "string"]}
ID = {"type": "string", "minLength": 1, "maxLength": 36}
NULLABLE_ID = {"type": ["string", "null"], "maxLength": 36}
OWNER = {"project_id": ID, "tenant_id": ID}
EMPTY_LIST = {"type": "array", "maxItems": 0}


def _object(properties, required=()):
    return {"type": "object", "additionalProperties": False,
            "properties": properties, "required": list(required)}


_NETWORK = {
    "name": STRING, "description": DESCRIPTION, "admin_state_up": BOOL, "shared": BOOL,
    "router:external": BOOL, "is_default": BOOL,
    "mtu": {"type": "integer", "minimum": 68, "maximum": 9000},
    "port_security_enabled": {"enum": [True, "true", "True"]},
    "availability_zone_hints": {"type": "array", "items": {"enum": ["nova"]}},
}
# Every network is a VXLAN segment with an allocated VNI (admins only may say so).
_PROVIDER = {"provider:network_type": {"enum": ["vxlan"]},
             "provider:physical_network": {"type": "null"}}
NETWORK_CREATE = _object(dict(_NETWORK, **OWNER, **_PROVIDER))
NETWORK_UPDATE = _object(_NETWORK)

_POOL = {"type": "object", "required": ["start", "end"], "additionalProperties": False,
         "properties": {"start": {"type": "string"}, "end": {"type": "string"}}}
_ROUTE = {"type": "object", "required": ["destination", "nexthop"],
          "additionalProperties": False,
          "properties": {"destination": {"type": "string"}, "nexthop": {"type": "string"}}}
_IPV6_MODE = {"enum": [None, "slaac", "dhcpv6-stateless", "dhcpv6-stateful"]}
_SUBNET = {
    "name": STRING, "description": DESCRIPTION,
    "gateway_ip": {"type": ["string", "null"]},
    "dns_nameservers": {"type": "array", "items": {"type": "string"}},
    "host_routes": {"type": "array", "items": _ROUTE},
    "enable_dhcp": BOOL, "service_types": EMPTY_LIST,
    "dns_publish_fixed_ip": {"enum": [False, "false", "False"]},
}
SUBNET_CREATE = _object(dict(
    _SUBNET, **OWNER, network_id=ID, cidr={"type": "string", "minLength": 1},
    ip_version={"enum": [4, 6, "4", "6"]},
    allocation_pools={"type": "array", "items": _POOL},
    ipv6_ra_mode=_IPV6_MODE, ipv6_address_mode=_IPV6_MODE,
    subnetpool_id={"type": "null"}, segment_id={"type": "null"}),
    required=["network_id", "cidr"])
SUBNET_UPDATE = _object(dict(_SUBNET, allocation_pools={"type": "array"}))

_FIXED_IP = {"type": "object", "additionalProperties": False,
             "properties": {"subnet_id": ID, "ip_address": {"type": "string"}}}
_PORT = {
    "name": STRING, "description": DESCRIPTION, "admin_state_up": BOOL,
    "device_id": STRING, "device_owner": STRING,
    "security_groups": {"type": "array", "items": ID},
    "port_security_enabled": BOOL, "allowed_address_pairs": EMPTY_LIST,
    "binding:host_id": NULLABLE_STRING, "binding:vnic_type": {"enum": ["normal"]},
    "binding:profile": {"type": "object", "maxProperties": 0},
    "fixed_ips": {"type": "array", "items": _FIXED_IP},
}
PORT_CREATE = _object(dict(_PORT, **OWNER, network_id=ID,
                           mac_address={"type": "string",
                                        "pattern": "^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$"}),
                      required=["network_id"])
PORT_UPDATE = _object(_PORT)

FLOATING_IP_CREATE = _object(dict(
    OWNER, floating_network_id=ID, floating_ip_address={"type": "string"},
    subnet_id=ID, port_id=NULLABLE_ID, fixed_ip_address={"type": ["string", "null"]},
    description=DESCRIPTION), required=["floating_network_id"])
FLOATING_IP_UPDATE = _object({"port_id": NULLABLE_ID,
                              "fixed_ip_address": {"type": ["string", "null"]},
                              "description": DESCRIPTION})

SECURITY_GROUP_CREATE = _object(dict(OWNER, name=STRING, description=DESCRIPTION,
                                     stateful=BOOL))
SECURITY_GROUP_UPDATE = _object({"name": STRING, "description": DESCRIPTION,
                                 "stateful": BOOL})

_PORT_NUMBER = {"type": ["integer", "string", "null"]}
SECURITY_GROUP_RULE_CREATE = _object(dict(
    OWNER, security_group_id=ID, direction={"enum": ["ingress", "egress"]},
    ethertype={"type": "string"}, protocol={"type": ["string", "integer", "null"]},
    port_range_min=_PORT_NUMBER, port_range_max=_PORT_NUMBER,
    remote_ip_prefix={"type": ["string", "null"]}, remote_group_id=NULLABLE_ID,
    remote_address_group_id={"type": "null"}, description=DESCRIPTION),
    required=["security_group_id", "direction"])
