"""os-security-group-rules, Nova's proxy onto the Networking API's rules:

    POST /os-security-group-rules {"security_group_rule": {parent_group_id,
         ip_protocol, from_port, to_port, cidr | group_id}}             200
    DELETE /os-security-group-rules/{id}                                202

Nova's rules are ingress only; ``from_port``/``to_port`` -1 mean "any" (ICMP
type and code); without ``group_id`` the source is ``cidr`` (default
0.0.0.0/0). A duplicate is a 400, as Nova answers."""
import ipaddress

import flask

from nova_lite import exception
from nova_lite.api import context, relay, validation
from nova_lite.api.compute import security_groups as groups_api
from nova_lite.db.session import transaction
from nova_lite.network import security_groups

_PORT = {"type": ["integer", "string", "null"]}
RULE_SCHEMA = {
    "type": "object", "required": ["security_group_rule"], "additionalProperties": False,
    "properties": {"security_group_rule": {
        "type": "object", "required": ["parent_group_id"], "additionalProperties": False,
        "properties": {"parent_group_id": {"type": ["string", "integer"]},
                       "ip_protocol": {"type": ["string", "null"]},
                       "from_port": _PORT, "to_port": _PORT,
                       "cidr": {"type": ["string", "null"]},
                       "group_id": {"type": ["string", "integer", "null"]}}}}}


def _port(value, field):
    if value in (None, ""):
        raise exception.Invalid(f"Not enough parameters to build a valid rule: {field} "
                                "is missing.")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise exception.Invalid(f"Invalid port range {field}: {value!r} is not an "
                                "integer.") from None


def neutron_rule(spec):
    """Nova's rule request as the Networking API's (pure; 400 on bad input)."""
    protocol = spec.get("ip_protocol")
    group_id = spec.get("group_id")
    cidr = spec.get("cidr")
    if group_id not in (None, "") and cidr not in (None, ""):
        raise exception.Invalid("Only one of cidr and group_id may be given.")
    rule = {"direction": "ingress", "ethertype": "IPv4", "protocol": None}
    if group_id not in (None, ""):
        rule["remote_group_id"] = str(group_id)
    else:
        cidr = cidr or "0.0.0.0/0"
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise exception.Invalid(f"Invalid cidr {cidr}.") from None
        rule.update(remote_ip_prefix=str(network),
                    ethertype="IPv6" if network.version == 6 else "IPv4")
    if protocol in (None, ""):
        if spec.get("from_port") not in (None, "") or spec.get("to_port") not in (None, ""):
            raise exception.Invalid("Invalid IP protocol: a port range needs one.")
        return rule
    protocol = str(protocol).lower()
    if protocol not in ("tcp", "udp", "icmp") and not protocol.isdigit():
        raise exception.Invalid(f"Invalid IP protocol {protocol}.")
    low, high = _port(spec.get("from_port"), "from_port"), _port(spec.get("to_port"),
                                                                 "to_port")
    if protocol == "icmp":
        if not (-1 <= low <= 255 and -1 <= high <= 255):
            raise exception.Invalid(f"Invalid port range {low}:{high}. ICMP type and "
                                    "code must be -1 to 255.")
        if low == -1 and high != -1:
            raise exception.Invalid(f"Invalid port range {low}:{high}. An ICMP code "
                                    "needs a type.")
        if rule["ethertype"] == "IPv6":
            protocol = "ipv6-icmp"
        rule.update(port_range_min=None if low == -1 else low,
                    port_range_max=None if high == -1 else high)
    elif protocol in ("tcp", "udp"):
        if not (1 <= low <= high <= 65535):
            raise exception.Invalid(f"Invalid port range {low}:{high}. Valid TCP ports "
                                    "should be between 1-65535")
        rule.update(port_range_min=low, port_range_max=high)
    rule["protocol"] = protocol
    return rule


@validation.body(RULE_SCHEMA)
def create_rule(body):
    spec = body["security_group_rule"]
    ctx = context.current()
    rule_spec = neutron_rule(spec)
    rule_spec["security_group_id"] = str(spec["parent_group_id"])
    with transaction() as session:
        groups_api.get(session, ctx, rule_spec["security_group_id"])
        try:
            rule = security_groups.create_rule(session, ctx, rule_spec)
        except security_groups.SecurityGroupRuleExists:
            raise exception.Invalid(f"This rule already exists in group "
                                    f"{rule_spec['security_group_id']}") from None
        except security_groups.SecurityGroupNotFound as exc:
            raise exception.NotFound(exc.message) from None
        item = groups_api.rule_view(rule, groups_api.remote_groups(session, [rule]))
    relay.wake()
    return flask.jsonify({"security_group_rule": item})


def delete_rule(rule_id):
    ctx = context.current()
    with transaction() as session:
        try:
            security_groups.delete_rule(session, ctx, rule_id)
        except security_groups.SecurityGroupRuleNotFound:
            raise exception.NotFound(f"Security group rule {rule_id} not found.") \
                from None
    relay.wake()
    return "", 202


def register(bp):
    bp.add_url_rule("/v2.1/os-security-group-rules", "create_os_security_group_rule",
                    create_rule, methods=["POST"])
    bp.add_url_rule("/v2.1/os-security-group-rules/<rule_id>",
                    "delete_os_security_group_rule", delete_rule, methods=["DELETE"])
