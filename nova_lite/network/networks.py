"""Networks and subnets: create, read with visibility, update, delete.

Who sees what (Neutron's default policy): admins everything; others their own
project's networks plus shared and external ones (read-only), and the subnets
of those (``is_admin``: the context_is_admin policy rule). Who may make a
network shared, external or the default one is policy's
(``create_network:shared`` ..., admins by default).

A network is one Linux bridge, ``nlbr-`` + the first 8 characters of its id
(unique in the database; a new id is drawn on the rare clash). A subnet's
CIDR is strict (no host bits) and overlaps no other subnet anywhere: every
network is routed by the same hosts (the exclusion constraint
``subnets_no_overlap`` has the last word when two requests race). Creating
an IPv4 subnet writes its whole pool as address rows (``ipam.populate``).

Every function works in the caller's transaction; ``context`` is anything
with ``project_id``, ``is_admin`` and ``authorize(rule, target=None)`` (the
API's RequestContext: 403 unless the policy rule allows it)."""
import ipaddress
import itertools

from sqlalchemy import delete, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, IntegrityError

from nova_lite import exception
from nova_lite.conf import CONF
from nova_lite.db import models
from nova_lite.network import exceptions, ipam, notify, ports, scope

BRIDGE_PREFIX = "nlbr-"
BRIDGE_ATTEMPTS = 8
DHCP_OWNER = "network:dhcp"
MAX_DNS_NAMESERVERS = 5
MAX_HOST_ROUTES = 20
IPV6_MODES = ("slaac", "dhcpv6-stateless", "dhcpv6-stateful")
AUTO = object()         # "gateway_ip not given": the first host of the CIDR
HOST_VISIBLE = ("gateway_ip", "dns_nameservers", "host_routes", "enable_dhcp")

N = models.Network
S = models.Subnet


# -- errors Neutron has and exceptions.py does not (yet) -------------------------------
class PolicyNotAuthorized(exception.Forbidden):
    neutron_type = "PolicyNotAuthorized"
    message = "(%(rule)s) is disallowed by policy"


class SubnetInUse(exception.Conflict):
    neutron_type = "SubnetInUse"
    message = ("Unable to complete operation on subnet %(subnet)s: One or more ports "
               "have an IP allocation from this subnet.")


class InvalidInput(exception.Invalid):
    neutron_type = "InvalidInput"
    message = "Invalid input for operation: %(reason)s"


class InvalidAllocationPool(exception.Invalid):
    neutron_type = "InvalidAllocationPool"
    message = "The allocation pool %(pool)s is not valid: %(reason)s"


class GatewayConflictWithAllocationPools(exception.Conflict):
    neutron_type = "GatewayConflictWithAllocationPools"
    message = "Gateway ip %(gateway)s conflicts with allocation pool %(pool)s."


class InvalidSharedSetting(exception.Conflict):
    neutron_type = "InvalidSharedSetting"
    message = ("Unable to reconfigure sharing settings for network %(network)s. "
               "Multiple tenants are using it.")


class ExternalNetworkInUse(exception.Conflict):
    neutron_type = "NetworkInUse"
    message = ("External network %(network)s cannot be updated to be made "
               "non-external, since it has floating IPs.")


class DefaultExternalNetworkExists(exception.Conflict):
    neutron_type = "DefaultExternalNetworkExists"
    message = "Default external network %(network)s already exists."


# -- shared helpers ----------------------------------------------------------------------
def owner_project(context, project_id):
    """The project a new resource belongs to: the caller's, or (admins only)
    the one the request names. Neutron answers a non-admin naming another
    project with 400. Never none: a request without a project is a 400
    (scope.ProjectRequired)."""
    if project_id in (None, "") or project_id == context.project_id:
        return scope.require_project(context.project_id)
    if not context.is_admin:
        raise exception.Invalid("Specifying 'project_id' or 'tenant_id' other than the "
                                "authenticated project in request requires admin "
                                "privileges")
    return project_id


def require_owner(context, project_id, rule):
    """403 unless the caller is admin or owns the resource."""
    if not (context.is_admin or scope.owns(context, project_id)):
        raise PolicyNotAuthorized(rule=rule)


def bridge_name(network_id):
    return BRIDGE_PREFIX + network_id[:8]


# -- networks ----------------------------------------------------------------------------
def visible_networks(context):
    """SELECT of the networks ``context`` may see."""
    query = select(N)
    if not context.is_admin:
        query = query.where(or_(scope.owned(N.project_id, context), N.shared, N.external))
    return query


def get_network(session, context, network_id, lock=None):
    """The network if visible, else NetworkNotFound. ``lock``: None, "share"
    (FOR KEY SHARE: it must not vanish while we add to it) or "update"."""
    query = visible_networks(context).where(N.id == str(network_id))
    if lock == "share":
        query = query.with_for_update(read=True, key_share=True)
    elif lock == "update":
        query = query.with_for_update()
    network = session.scalars(query).first()
    if network is None:
        raise exceptions.NetworkNotFound(network=network_id)
    return network


def create_network(session, context, *, name="", description="", project_id=None,
                   shared=False, external=False, is_default=False, admin_state_up=True,
                   mtu=1500):
    project_id = owner_project(context, project_id)
    for flag, rule in ((shared, "create_network:shared"),
                       (external, "create_network:router:external"),
                       (is_default, "create_network:is_default")):
        if flag:
            context.authorize(rule)
    if is_default:
        _check_default(session, external)
    for _ in range(BRIDGE_ATTEMPTS):
        network_id = models.new_uuid()
        inserted = _insert_network(session, insert(N).values(
            id=network_id, name=name or "", description=description or "",
            project_id=project_id, shared=bool(shared), external=bool(external),
            is_default=bool(is_default), bridge=bridge_name(network_id), mtu=mtu,
            admin_state_up=bool(admin_state_up), status="ACTIVE",
            created_at=models.utcnow()).on_conflict_do_nothing().returning(N.id))
        if inserted:
            return session.get(N, network_id)
    raise exception.Conflict("Could not find a free bridge name for the network; "
                             "try again.")


def _insert_network(session, statement):
    """Run the insert; its segmentation id (VNI) comes from the sequence
    networks_segmentation_id_seq (1 .. 2^24-1, migration 0006). All of them
    handed out is a 409, not a 500."""
    try:
        return session.execute(statement).scalar()
    except DBAPIError as exc:
        if getattr(exc.orig, "pgcode", None) == "2200H":   # sequence_generator_limit_exceeded
            raise exception.Conflict("No segmentation id (VXLAN VNI, 1 .. 16777215) is "
                                     "left for a new network.") from None
        raise


def _check_default(session, external, network_id=None):
    if not external:
        raise InvalidInput(reason="only an external network can be the default one")
    query = select(N.id).where(N.external, N.is_default)
    if network_id:
        query = query.where(N.id != network_id)
    other = session.scalars(query).first()
    if other:
        raise DefaultExternalNetworkExists(network=other)


def update_network(session, context, network_id, changes):
    """``changes``: any of name, description, admin_state_up, mtu, shared,
    external, is_default (the last three admin only)."""
    network = get_network(session, context, network_id, lock="update")
    require_owner(context, network.project_id, "update_network")
    for key in ("shared", "external", "is_default"):
        if key in changes and bool(changes[key]) != getattr(network, key):
            rule = "router:external" if key == "external" else key
            context.authorize(f"update_network:{rule}")
    if "shared" in changes and not changes["shared"] and network.shared:
        others = session.scalar(select(func.count()).select_from(models.Port).where(
            models.Port.network_id == network.id,
            models.Port.project_id != network.project_id))
        if others:
            raise InvalidSharedSetting(network=network.id)
    if "external" in changes and not changes["external"] and network.external:
        held = session.scalar(select(func.count()).select_from(models.FloatingIP).where(
            models.FloatingIP.floating_network_id == network.id))
        if held:
            raise ExternalNetworkInUse(network=network.id)
    if changes.get("is_default") and not network.is_default:
        _check_default(session, changes.get("external", network.external), network.id)
    if "mtu" in changes and changes["mtu"] != network.mtu and _has_ports(session, network):
        raise exception.Conflict(f"The MTU of network {network.id} cannot change while "
                                 "it has ports.")
    for key in ("name", "description", "admin_state_up", "mtu", "shared", "external",
                "is_default"):
        if key in changes:
            setattr(network, key, changes[key])
    if not network.external:
        network.is_default = False
    network.updated_at = models.utcnow()
    session.flush()
    return network


def _has_ports(session, network):
    return session.scalar(select(func.count()).select_from(models.Port).where(
        models.Port.network_id == network.id)) > 0


def delete_network(session, context, network_id):
    """Drop the network and its subnets. Refused (NetworkInUse) while any port
    but the hosts' own DHCP ports is on it: servers' NICs, floating IPs,
    ports users made."""
    network = get_network(session, context, network_id, lock="update")
    require_owner(context, network.project_id, "delete_network")
    in_use = session.scalar(select(func.count()).select_from(models.Port).where(
        models.Port.network_id == network.id, models.Port.device_owner != DHCP_OWNER))
    if in_use:
        raise exceptions.NetworkInUse(network=network.id)
    for port_id in session.scalars(select(models.Port.id).where(
            models.Port.network_id == network.id)).all():
        ports.delete(session, port_id)
    session.execute(delete(N).where(N.id == network.id))     # subnets, pools cascade


# -- subnets -----------------------------------------------------------------------------
def visible_subnets(context):
    """SELECT of the subnets ``context`` may see: its own, those of its
    networks and those of shared and external networks."""
    query = select(S)
    if not context.is_admin:
        query = query.join(N, N.id == S.network_id).where(or_(
            scope.owned(S.project_id, context), scope.owned(N.project_id, context),
            N.shared, N.external))
    return query


def get_subnet(session, context, subnet_id, lock=None):
    query = visible_subnets(context).where(S.id == str(subnet_id))
    if lock == "update":
        query = query.with_for_update(of=S)
    subnet = session.scalars(query).first()
    if subnet is None:
        raise exceptions.SubnetNotFound(subnet=subnet_id)
    return subnet


def _ip(value, field):
    try:
        return ipaddress.ip_address(str(value))
    except ValueError:
        raise InvalidInput(reason=f"'{value}' is not a valid IP address for "
                                  f"{field}") from None


def check_gateway(network, gateway):
    """The gateway as a string (None for none): inside the CIDR, not its
    network or broadcast address."""
    if gateway is None:
        return None
    ip = _ip(gateway, "gateway_ip")
    if ip.version != network.version or ip not in network:
        raise InvalidInput(reason=f"Gateway IP {gateway} is not inside subnet {network}")
    if ip == network.network_address or (network.version == 4
                                         and ip == network.broadcast_address):
        raise InvalidInput(reason=f"Gateway IP {gateway} is the network or broadcast "
                                  f"address of {network}")
    return str(ip)


def check_pools(network, pools, gateway):
    """Allocation pools as [{"start", "end"}], each inside the CIDR (not its
    network or broadcast address), not overlapping, not holding the gateway."""
    spans = []
    for pool in pools:
        label = f"{pool.get('start')}-{pool.get('end')}" if isinstance(pool, dict) \
            else repr(pool)
        if not isinstance(pool, dict) or set(pool) != {"start", "end"}:
            raise InvalidAllocationPool(pool=label, reason="a pool is {\"start\": "
                                        "address, \"end\": address}")
        first, last = _ip(pool["start"], "allocation_pools"), _ip(pool["end"],
                                                                  "allocation_pools")
        if first.version != network.version or last.version != network.version:
            raise InvalidAllocationPool(pool=label, reason=f"not IPv{network.version}")
        reserved = {network.network_address}
        if network.version == 4:
            reserved.add(network.broadcast_address)
        if first not in network or last not in network or first in reserved \
                or last in reserved:
            raise InvalidAllocationPool(pool=label, reason=f"outside the usable "
                                        f"addresses of {network}")
        if first > last:
            raise InvalidAllocationPool(pool=label, reason="start is after end")
        if gateway is not None and first <= ipaddress.ip_address(gateway) <= last:
            raise GatewayConflictWithAllocationPools(gateway=gateway, pool=label)
        spans.append((first, last, label))
    spans.sort()
    for (_, last, one), (first, _, other) in itertools.pairwise(spans):
        if first <= last:
            raise InvalidAllocationPool(pool=other, reason=f"it overlaps {one}")
    return [{"start": str(first), "end": str(last)} for first, last, _ in spans]


def check_dns(nameservers):
    nameservers = list(nameservers or [])
    if len(nameservers) > MAX_DNS_NAMESERVERS:
        raise InvalidInput(reason=f"at most {MAX_DNS_NAMESERVERS} DNS nameservers "
                                  "per subnet")
    result = [str(_ip(server, "dns_nameservers")) for server in nameservers]
    if len(set(result)) != len(result):
        raise InvalidInput(reason=f"duplicate DNS nameserver in {nameservers}")
    return result


def check_host_routes(routes, network):
    routes = list(routes or [])
    if len(routes) > MAX_HOST_ROUTES:
        raise InvalidInput(reason=f"at most {MAX_HOST_ROUTES} host routes per subnet")
    result = []
    for route in routes:
        if not isinstance(route, dict) or set(route) != {"destination", "nexthop"}:
            raise InvalidInput(reason=f"a host route is {{\"destination\": cidr, "
                                      f"\"nexthop\": address}}, not {route!r}")
        try:
            destination = ipaddress.ip_network(str(route["destination"]), strict=True)
        except ValueError as exc:
            raise InvalidInput(reason=f"invalid host route destination: {exc}") from None
        nexthop = _ip(route["nexthop"], "host_routes")
        if destination.version != network.version or nexthop.version != network.version:
            raise InvalidInput(reason=f"host route {route} is not IPv{network.version}")
        entry = {"destination": str(destination), "nexthop": str(nexthop)}
        if entry in result:
            raise InvalidInput(reason=f"duplicate host route {entry}")
        result.append(entry)
    return result


def check_ipv6_modes(network, ra_mode, address_mode):
    if network.version == 4:
        if ra_mode or address_mode:
            raise InvalidInput(reason="ipv6_ra_mode and ipv6_address_mode are only "
                                      "valid for IPv6 subnets")
        return
    for field, mode in (("ipv6_ra_mode", ra_mode), ("ipv6_address_mode", address_mode)):
        if mode is not None and mode not in IPV6_MODES:
            raise InvalidInput(reason=f"'{mode}' is not a valid {field}; one of "
                                      f"{', '.join(IPV6_MODES)}")
    if ra_mode and address_mode and ra_mode != address_mode:
        raise InvalidInput(reason=f"ipv6_ra_mode set to '{ra_mode}' with "
                                  f"ipv6_address_mode set to '{address_mode}' is not "
                                  "valid. If both attributes are set, they must be "
                                  "the same value")
    if address_mode == "dhcpv6-stateful":
        raise InvalidInput(reason="ipv6_address_mode dhcpv6-stateful is not supported: "
                                  "IPv6 addresses come from SLAAC (EUI-64)")
    if network.prefixlen != 64:
        raise InvalidInput(reason=f"IPv6 subnet {network} must be a /64: addresses are "
                                  "derived from the MAC (EUI-64)")


def check_project_size(network):
    """400 for a subnet larger than a non-admin may make ([network]
    project_largest_subnet_prefixlen_v4 / _v6)."""
    option = f"project_largest_subnet_prefixlen_v{network.version}"
    largest = getattr(CONF.network, option)
    if network.prefixlen < largest:
        size = 2 ** (network.max_prefixlen - largest)
        usable = f" ({size - 2:,} addresses)" if network.version == 4 else ""
        raise InvalidInput(reason=f"subnet {network} is larger than a non-admin project "
                                  f"may create: at most /{largest}{usable} ([network] "
                                  f"{option}). Subnets overlap nowhere, so a larger one "
                                  "is made by an admin for the project (with "
                                  "project_id).")


def _overlapping(session, network):
    return session.execute(text(
        "SELECT id, network_id, cidr::text FROM subnets "
        "WHERE cidr && CAST(:cidr AS cidr) LIMIT 1"), {"cidr": str(network)}).first()


def _overlap_error(session, context, cidr, other):
    message = exceptions.SubnetOverlap.message % {"cidr": cidr}
    if other is not None:
        visible = session.scalars(visible_subnets(context).where(S.id == other[0])).first()
        if visible is not None:
            message += f" It overlaps subnet {other[0]} ({other[2]}) of network {other[1]}."
    message += (" Subnets may not overlap anywhere, in any project: every network is "
                "routed by the same hosts.")
    return exceptions.SubnetOverlap(message)


def create_subnet(session, context, network_id, *, cidr, ip_version=None,
                  gateway_ip=AUTO, allocation_pools=None, dns_nameservers=(),
                  host_routes=(), enable_dhcp=True, ipv6_ra_mode=None,
                  ipv6_address_mode=None, name="", description="", project_id=None):
    network = get_network(session, context, network_id, lock="share")
    require_owner(context, network.project_id, "create_subnet")
    project_id = owner_project(context, project_id)
    if ip_version is not None and int(ip_version) not in (4, 6):
        raise InvalidInput(reason=f"{ip_version} is not a valid IP version (4 or 6)")
    net = ipam.parse_cidr(cidr, ip_version)
    check_ipv6_modes(net, ipv6_ra_mode, ipv6_address_mode)
    if not context.is_admin:
        check_project_size(net)
    gateway = check_gateway(net, ipam.default_gateway(net) if gateway_ip is AUTO
                            else gateway_ip)
    if allocation_pools is None:
        pools = ipam.default_pools(net, gateway)
    else:
        pools = check_pools(net, allocation_pools, gateway)
    if net.version == 4 and not pools:
        raise InvalidInput(reason=f"{net} has no address left for an allocation pool")
    dns = check_dns(dns_nameservers)
    routes = check_host_routes(host_routes, net)
    other = _overlapping(session, net)
    if other is not None:
        raise _overlap_error(session, context, str(net), other)
    subnet = S(id=models.new_uuid(), network_id=network.id, project_id=project_id,
               name=name or "", description=description or "", ip_version=net.version,
               cidr=str(net), gateway_ip=gateway, enable_dhcp=bool(enable_dhcp),
               allocation_pools=pools, dns_nameservers=dns, host_routes=routes,
               ipv6_ra_mode=ipv6_ra_mode, ipv6_address_mode=ipv6_address_mode)
    session.add(subnet)
    try:
        session.flush()
    except IntegrityError as exc:
        if getattr(exc.orig, "pgcode", None) == "23P01":      # exclusion_violation
            raise _overlap_error(session, context, str(net), None) from None
        raise
    ipam.populate(session, subnet.id, net, pools, gateway)
    return subnet


def update_subnet(session, context, subnet_id, changes):
    """``changes``: any of name, description, dns_nameservers, host_routes,
    enable_dhcp, gateway_ip (outside the pools, so never an address a port
    holds). Allocation pools, CIDR and IP version are fixed."""
    subnet = get_subnet(session, context, subnet_id, lock="update")
    require_owner(context, subnet.project_id, "update_subnet")
    network = session.get(N, subnet.network_id)
    if not (context.is_admin or scope.owns(context, network.project_id)):
        raise PolicyNotAuthorized(rule="update_subnet")
    net = ipaddress.ip_network(str(subnet.cidr))
    for fixed in ("allocation_pools", "cidr", "ip_version", "network_id",
                  "ipv6_ra_mode", "ipv6_address_mode"):
        if fixed in changes:
            raise InvalidInput(reason=f"{fixed} of a subnet cannot be changed")
    if "gateway_ip" in changes:
        gateway = check_gateway(net, changes["gateway_ip"])
        if gateway is not None:
            for pool in subnet.allocation_pools or []:
                if ipaddress.ip_address(pool["start"]) <= ipaddress.ip_address(gateway) \
                        <= ipaddress.ip_address(pool["end"]):
                    raise GatewayConflictWithAllocationPools(
                        gateway=gateway, pool=f"{pool['start']}-{pool['end']}")
        subnet.gateway_ip = gateway
    if "dns_nameservers" in changes:
        subnet.dns_nameservers = check_dns(changes["dns_nameservers"])
    if "host_routes" in changes:
        subnet.host_routes = check_host_routes(changes["host_routes"], net)
    for key in ("name", "description", "enable_dhcp"):
        if key in changes:
            setattr(subnet, key, changes[key])
    subnet.updated_at = models.utcnow()
    session.flush()
    if any(key in changes for key in HOST_VISIBLE):
        # dnsmasq on the hosts serves the gateway, DNS servers and routes.
        notify.changed(session, context, instance_uuids=session.scalars(
            select(models.Port.device_id).distinct().where(
                models.Port.network_id == subnet.network_id,
                models.Port.device_owner.startswith("compute:"))).all())
    return subnet


def delete_subnet(session, context, subnet_id):
    """Drop the subnet and its pool; SubnetInUse while a port (other than a
    DHCP port) holds one of its addresses."""
    subnet = get_subnet(session, context, subnet_id, lock="update")
    require_owner(context, subnet.project_id, "delete_subnet")
    # Take the free rows first: an allocation racing with us either finished
    # before (its row is in use, counted below) or finds none left.
    session.execute(text("DELETE FROM ip_allocations WHERE subnet_id = :id "
                         "AND port_id IS NULL"), {"id": subnet.id})
    holders = session.execute(text(
        "SELECT a.port_id, p.device_owner FROM ip_allocations a "
        "JOIN ports p ON p.id = a.port_id WHERE a.subnet_id = :id"),
        {"id": subnet.id}).all()
    if any(owner != DHCP_OWNER for _, owner in holders):
        raise SubnetInUse(subnet=subnet.id)
    session.execute(delete(S).where(S.id == subnet.id))


def subnet_ids_by_network(session, network_ids):
    """{network_id: [subnet ids]} (oldest first)."""
    result = {network_id: [] for network_id in network_ids}
    if not result:
        return result
    for network_id, subnet_id in session.execute(
            select(S.network_id, S.id).where(S.network_id.in_(list(result)))
            .order_by(S.created_at, S.id)):
        result[network_id].append(subnet_id)
    return result
