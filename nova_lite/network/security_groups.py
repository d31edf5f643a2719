"""Security groups and their rules; every project has a 'default' group.

    ensure_default   the project's 'default' group (made on first use, with
                     Neutron's default rules: ingress from its own members,
                     egress anywhere; race-safe on ux_security_groups_default)
    resolve          names or ids -> the project's group ids (server create)
    create/update/delete groups (a new group may send anything out: egress
                     rules for IPv4 and IPv6, as Neutron makes them)
    create_rule/delete_rule, with Neutron's validation (``normalize_rule``
                     is pure and unit-tested)
    set_port_groups  a port's membership (the members of a group reach the
                     hosts through nova_lite.network.membership)

Who sees what: admins everything, others their own project's groups and
rules. Every change that alters what a guest may send or receive calls
``notify.changed`` with the groups concerned, in the same transaction; the
conductor works out which servers that touches."""
import ipaddress

from sqlalchemy import delete, func, insert, or_, select, text

from nova_lite import exception
from nova_lite.db import models
from nova_lite.network import networks, notify, scope

G = models.SecurityGroup
R = models.SecurityGroupRule
DEFAULT = "default"
DIRECTIONS = ("ingress", "egress")
ETHERTYPES = ("IPv4", "IPv6")
# Neutron's protocol names and their numbers.
PROTOCOLS = {"ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "icmp": 1, "igmp": 2,
             "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58,
             "ipv6-nonxt": 59, "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89, "pgm": 113,
             "rsvp": 46, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136, "vrrp": 112}
NAMED_NUMBERS = {1: "icmp", 6: "tcp", 17: "udp", 58: "ipv6-icmp"}
PORT_PROTOCOLS = {6, 17, 33, 132, 136}          # tcp udp dccp sctp udplite
ICMP_PROTOCOLS = {1, 58}
IPV6_ONLY_PROTOCOLS = {41, 43, 44, 58, 59, 60}


class SecurityGroupNotFound(exception.NotFound):
    neutron_type = "SecurityGroupNotFound"
    message = "Security group %(id)s does not exist"


class SecurityGroupRuleNotFound(exception.NotFound):
    neutron_type = "SecurityGroupRuleNotFound"
    message = "Security group rule %(id)s does not exist"


class SecurityGroupInUse(exception.Conflict):
    neutron_type = "SecurityGroupInUse"
    message = "Security Group %(id)s in use."


class SecurityGroupCannotRemoveDefault(exception.Conflict):
    neutron_type = "SecurityGroupCannotRemoveDefault"
    message = "Insufficient rights for removing default security group."


class SecurityGroupCannotUpdateDefault(exception.Conflict):
    neutron_type = "SecurityGroupCannotUpdateDefault"
    message = "Updating default security group not allowed."


class SecurityGroupDefaultAlreadyExists(exception.Conflict):
    neutron_type = "SecurityGroupDefaultAlreadyExists"
    message = "Default security group already exists."


class SecurityGroupRuleExists(exception.Conflict):
    neutron_type = "SecurityGroupRuleExists"
    message = "Security group rule already exists. Rule id is %(rule_id)s."


class SecurityGroupRuleInvalid(exception.Invalid):
    neutron_type = "SecurityGroupRuleInvalid"
    message = "%(reason)s"


# -- the default group -------------------------------------------------------------------
def _default_rules(group_id, project_id):
    rules = []
    for ethertype in ETHERTYPES:
        rules.append({"security_group_id": group_id, "project_id": project_id,
                      "direction": "ingress", "ethertype": ethertype,
                      "remote_group_id": group_id})
        rules.append({"security_group_id": group_id, "project_id": project_id,
                      "direction": "egress", "ethertype": ethertype})
    return rules


def _egress_rules(group_id, project_id):
    return [{"security_group_id": group_id, "project_id": project_id,
             "direction": "egress", "ethertype": ethertype} for ethertype in ETHERTYPES]


def _add_rules(session, rules):
    for rule in rules:
        session.add(R(id=models.new_uuid(), description="", **rule))
    session.flush()


def _find_default(session, project_id):
    return session.scalars(select(G).where(G.project_id == project_id,
                                           G.name == DEFAULT)).first()


def ensure_default(session, project_id):
    """The project's 'default' group, made (with Neutron's default rules) if
    missing; safe when many requests make it at once. ``project_id`` must be
    one (scope.ProjectRequired otherwise)."""
    scope.require_project(project_id)
    found = _find_default(session, project_id)
    if found is not None:
        return found
    group_id = models.new_uuid()
    created = session.execute(text("""
        INSERT INTO security_groups (id, project_id, name, description, stateful,
                                     created_at)
        VALUES (:id, :project_id, 'default', 'Default security group', true, now())
        ON CONFLICT (project_id) WHERE name = 'default' DO NOTHING RETURNING id"""),
        {"id": group_id, "project_id": project_id}).scalar()
    if created:
        _add_rules(session, _default_rules(group_id, project_id))
    return _find_default(session, project_id)


def resolve(session, project_id, names_or_ids):
    """Ids of the project's groups with these names or ids, in order, each
    once ('default' is made if missing). Unknown: 400; no project: 400."""
    scope.require_project(project_id)
    ids = []
    for wanted in names_or_ids:
        if wanted == DEFAULT:
            ids.append(ensure_default(session, project_id).id)
            continue
        found = session.scalars(select(G.id).where(
            G.project_id == project_id, or_(G.name == wanted, G.id == wanted))).all()
        if wanted in found:
            found = [wanted]
        if len(found) != 1:
            raise exception.Invalid(
                f"Unable to find security_group with name or id '{wanted}'" if not found
                else f"Multiple security_group matches found for name '{wanted}', use "
                     f"an ID to be more specific.")
        ids.append(found[0])
    return list(dict.fromkeys(ids))


# -- groups ------------------------------------------------------------------------------
def visible_groups(context):
    query = select(G)
    if not context.is_admin:
        query = query.where(scope.owned(G.project_id, context))
    return query


def get_group(session, context, group_id, for_update=False):
    query = visible_groups(context).where(G.id == str(group_id))
    if for_update:
        query = query.with_for_update()
    group = session.scalars(query).first()
    if group is None:
        raise SecurityGroupNotFound(id=group_id)
    return group


def create_group(session, context, *, name="", description="", project_id=None,
                 stateful=True):
    project_id = networks.owner_project(context, project_id)
    if not stateful:
        raise networks.InvalidInput(reason="stateless security groups are not supported")
    if name == DEFAULT:
        ensure_default(session, project_id)
        raise SecurityGroupDefaultAlreadyExists()
    group = G(id=models.new_uuid(), project_id=project_id, name=name or "",
              description=description or "", stateful=True)
    session.add(group)
    session.flush()
    _add_rules(session, _egress_rules(group.id, project_id))
    return group


def update_group(session, context, group_id, changes):
    """``changes``: name, description (the default group keeps its name)."""
    group = get_group(session, context, group_id, for_update=True)
    if "stateful" in changes and not changes["stateful"]:
        raise networks.InvalidInput(reason="stateless security groups are not supported")
    if "name" in changes and changes["name"] != group.name and (
            group.name == DEFAULT or changes["name"] == DEFAULT):
        raise SecurityGroupCannotUpdateDefault()
    for key in ("name", "description"):
        if key in changes:
            setattr(group, key, changes[key] or "")
    group.updated_at = models.utcnow()
    session.flush()
    return group


def delete_group(session, context, group_id):
    """Refused while a port is a member (SecurityGroupInUse) and, for
    non-admins, for the default group. Rules of other groups naming it as
    remote group go with it."""
    group = get_group(session, context, group_id, for_update=True)
    if group.name == DEFAULT and not context.is_admin:
        raise SecurityGroupCannotRemoveDefault()
    members = session.scalar(select(func.count()).select_from(models.PortSecurityGroup)
                             .where(models.PortSecurityGroup.security_group_id == group.id))
    if members:
        raise SecurityGroupInUse(id=group.id)
    referring = session.scalars(select(R.security_group_id).distinct().where(
        R.remote_group_id == group.id, R.security_group_id != group.id)).all()
    if referring:
        # Their members' remote-group rules lose this group's addresses.
        notify.changed(session, context, security_group_ids=referring)
    session.execute(delete(G).where(G.id == group.id))


def rules_by_group(session, group_ids):
    """{group_id: [rules]} (oldest first)."""
    result = {group_id: [] for group_id in group_ids}
    if not result:
        return result
    for rule in session.scalars(select(R).where(R.security_group_id.in_(list(result)))
                                .order_by(R.created_at, R.id)):
        result[rule.security_group_id].append(rule)
    return result


# -- rules -------------------------------------------------------------------------------
def _invalid(reason):
    return SecurityGroupRuleInvalid(reason=reason)


def _port(value, field):
    if value is None:
        return None
    if isinstance(value, bool):
        raise _invalid(f"Invalid value for {field}: {value!r}")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise _invalid(f"Invalid value for {field}: {value!r} is not an integer") from None
    if number < 0 or number > 65535:
        raise _invalid(f"Invalid value for port {number}")
    return number


def normalize_protocol(protocol):
    """A protocol as stored: a known name, a number 0-255 as text (the
    numbers of tcp, udp, icmp and ipv6-icmp become their names) or None."""
    if protocol is None:
        return None
    text_value = str(protocol).strip().lower()
    if text_value in ("", "any"):
        return None
    if text_value == "icmpv6":
        return "ipv6-icmp"
    if text_value in PROTOCOLS:
        return text_value
    if text_value.isdigit() and 0 <= int(text_value) <= 255:
        number = int(text_value)
        return NAMED_NUMBERS.get(number, str(number))
    raise _invalid(f"Security group rule protocol {protocol} not supported. Only "
                   f"protocol values {', '.join(sorted(PROTOCOLS))} and integer "
                   f"representations [0 to 255] are supported.")


def protocol_number(protocol):
    if protocol is None:
        return None
    return PROTOCOLS.get(protocol, int(protocol) if str(protocol).isdigit() else None)


def _any_prefix(ethertype):
    return "::/0" if ethertype == "IPv6" else "0.0.0.0/0"


def normalize_rule(spec):
    """Neutron's checks on a rule request (a dict), without the database.
    Returns the rule's columns: direction, ethertype, protocol,
    port_range_min, port_range_max, remote_ip_prefix, remote_group_id,
    description. Raises SecurityGroupRuleInvalid (400)."""
    direction = spec.get("direction")
    if direction not in DIRECTIONS:
        raise _invalid(f"Invalid value for direction: {direction!r} (ingress or egress)")
    ethertype = spec.get("ethertype") or "IPv4"
    matching = [e for e in ETHERTYPES if e.lower() == str(ethertype).lower()]
    if not matching:
        raise _invalid(f"Invalid value for ethertype: {ethertype!r} (IPv4 or IPv6)")
    ethertype = matching[0]
    protocol = normalize_protocol(spec.get("protocol"))
    number = protocol_number(protocol)
    if ethertype == "IPv6" and protocol == "icmp":
        protocol, number = "ipv6-icmp", 58
    if ethertype == "IPv4" and number in IPV6_ONLY_PROTOCOLS:
        raise _invalid(f"Ethertype IPv4 is not supported with protocol {protocol}.")
    low = _port(spec.get("port_range_min"), "port_range_min")
    high = _port(spec.get("port_range_max"), "port_range_max")
    if low is not None or high is not None:
        if protocol is None:
            raise _invalid("Must also specify protocol if port range is given.")
        if number in PORT_PROTOCOLS:
            if low == 0 or high == 0:
                raise _invalid("Invalid value for port 0")
            if low is None or high is None or low > high:
                raise _invalid("For TCP/UDP protocols, port_range_min must be <= "
                               "port_range_max")
        elif number in ICMP_PROTOCOLS:
            for value, field in ((low, "type"), (high, "code")):
                if value is not None and value > 255:
                    raise _invalid(f"Invalid value for ICMP {field} (port-range-"
                                   f"{'min' if field == 'type' else 'max'}): {value}. "
                                   f"It must be 0 to 255.")
            if low is None:
                raise _invalid(f"ICMP code (port-range-max) {high} is provided but ICMP "
                               "type (port-range-min) is missing.")
        else:
            raise _invalid(f"Invalid protocol {protocol} for port range, only supported "
                           "for TCP, UDP, UDPLITE, SCTP and DCCP.")
    prefix = spec.get("remote_ip_prefix")
    group = spec.get("remote_group_id")
    if prefix is not None and group is not None:
        raise _invalid("Only remote_ip_prefix or remote_group_id may be provided.")
    if prefix is not None:
        try:
            network = ipaddress.ip_network(str(prefix).strip(), strict=False)
        except ValueError:
            raise _invalid(f"'{prefix}' is not a valid IP prefix for remote_ip_prefix") \
                from None
        if f"IPv{network.version}" != ethertype:
            raise _invalid(f"Conflicting value ethertype {ethertype} for CIDR {prefix}")
        prefix = str(network)
    description = spec.get("description") or ""
    return {"direction": direction, "ethertype": ethertype, "protocol": protocol,
            "port_range_min": low, "port_range_max": high, "remote_ip_prefix": prefix,
            "remote_group_id": group, "description": description}


def same_rule(a, b):
    """Duplicates, as Neutron sees them (a prefix of everything is no prefix)."""
    keys = ("direction", "ethertype", "protocol", "port_range_min", "port_range_max",
            "remote_group_id")
    if any(a[k] != b[k] for k in keys):
        return False

    def prefix(rule):
        value = rule["remote_ip_prefix"]
        if value is None or str(value) == _any_prefix(rule["ethertype"]):
            return None
        return str(ipaddress.ip_network(str(value), strict=False))
    return prefix(a) == prefix(b)


def visible_rules(context):
    query = select(R)
    if not context.is_admin:
        query = query.join(G, G.id == R.security_group_id).where(
            scope.owned(G.project_id, context))
    return query


def get_rule(session, context, rule_id):
    rule = session.scalars(visible_rules(context).where(R.id == str(rule_id))).first()
    if rule is None:
        raise SecurityGroupRuleNotFound(id=rule_id)
    return rule


def rule_values(rule):
    return {"direction": rule.direction, "ethertype": rule.ethertype,
            "protocol": rule.protocol, "port_range_min": rule.port_range_min,
            "port_range_max": rule.port_range_max,
            "remote_ip_prefix": str(rule.remote_ip_prefix) if rule.remote_ip_prefix
            else None, "remote_group_id": rule.remote_group_id}


def create_rule(session, context, spec):
    """A new rule in ``spec["security_group_id"]``; SecurityGroupRuleExists
    (409) for a duplicate. The group is locked, so two identical requests at
    once cannot both pass the duplicate check."""
    if not spec.get("security_group_id"):
        raise _invalid("security_group_id is required")
    values = normalize_rule(spec)
    group = get_group(session, context, spec["security_group_id"], for_update=True)
    project_id = networks.owner_project(context, spec.get("project_id")) \
        if spec.get("project_id") else group.project_id
    if values["remote_group_id"] is not None:
        remote = session.get(G, str(values["remote_group_id"]))
        if remote is None or not (context.is_admin or remote.project_id == group.project_id
                                  or scope.owns(context, remote.project_id)):
            raise SecurityGroupNotFound(id=values["remote_group_id"])
    for existing in session.scalars(select(R).where(R.security_group_id == group.id)):
        if same_rule(rule_values(existing), values):
            raise SecurityGroupRuleExists(rule_id=existing.id)
    rule = R(id=models.new_uuid(), security_group_id=group.id, project_id=project_id,
             **values)
    session.add(rule)
    session.flush()
    notify.changed(session, context, security_group_ids=[group.id])
    return rule


def delete_rule(session, context, rule_id):
    rule = get_rule(session, context, rule_id)
    get_group(session, context, rule.security_group_id, for_update=True)
    session.execute(delete(R).where(R.id == rule.id))
    notify.changed(session, context, security_group_ids=[rule.security_group_id])


# -- ports' membership -------------------------------------------------------------------
def groups_by_port(session, port_ids):
    """{port_id: [group ids]}."""
    result = {port_id: [] for port_id in port_ids}
    if not result:
        return result
    for port_id, group_id in session.execute(
            select(models.PortSecurityGroup.port_id,
                   models.PortSecurityGroup.security_group_id)
            .where(models.PortSecurityGroup.port_id.in_(list(result)))
            .order_by(models.PortSecurityGroup.security_group_id)):
        result[port_id].append(group_id)
    return result


def set_port_groups(session, context, port, group_ids):
    """Make ``port``'s groups exactly ``group_ids`` (checked by the caller to
    be the port's project's) and tell the hosts."""
    wanted = list(dict.fromkeys(group_ids))
    current = groups_by_port(session, [port.id])[port.id]
    if set(current) == set(wanted):
        return
    session.execute(delete(models.PortSecurityGroup).where(
        models.PortSecurityGroup.port_id == port.id))
    if wanted:
        session.execute(insert(models.PortSecurityGroup), [
            {"port_id": port.id, "security_group_id": group_id} for group_id in wanted])
    # The port's own rules change; the groups' members (the sets on other
    # hosts) follow from the database triggers (nova_lite.network.membership).
    notify.changed(session, context,
                   instance_uuids=[port.device_id] if port.device_id else [])
