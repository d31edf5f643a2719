"""IPAM: which address of a subnet a port holds, decided by PostgreSQL alone.

An IPv4 subnet's allocation pools are written out as one ``ip_allocations``
row per address when the subnet is created (``populate``). Allocating is one
UPDATE of a free row picked with ``FOR UPDATE SKIP LOCKED``: concurrent
allocators never wait on each other and never get the same row, and the
primary key makes a duplicate impossible even by mistake. Releasing sets
``port_id`` back to NULL in the same transaction as the port's delete.

IPv6 subnets in SLAAC or DHCPv6-stateless mode give each port its EUI-64
address (from the MAC), inserted on demand; the primary key rejects a clash.
"""
import ipaddress
import time

from sqlalchemy import text

from nova_lite.conf import CONF
from nova_lite.network import exceptions

WAIT_FOR_LOCKED = 10.0      # seconds to wait for in-flight allocations to settle

_FIRST_FREE = text("""
    UPDATE ip_allocations SET port_id = :port_id, allocated_at = now()
    WHERE subnet_id = :subnet_id AND address = (
        SELECT address FROM ip_allocations
        WHERE subnet_id = :subnet_id AND port_id IS NULL
        ORDER BY address LIMIT 1 FOR UPDATE {skip})
    RETURNING host(address)""")

_FIRST_FREE_SKIP_LOCKED = text(_FIRST_FREE.text.format(skip="SKIP LOCKED"))

_CHOSEN = text("""
    UPDATE ip_allocations SET port_id = :port_id, allocated_at = now()
    WHERE subnet_id = :subnet_id AND address = CAST(:address AS inet) AND port_id IS NULL
    RETURNING host(address)""")


def parse_cidr(cidr, ip_version=None):
    """The network of ``cidr`` (strict: no host bits), or InvalidCidr."""
    try:
        network = ipaddress.ip_network(str(cidr), strict=True)
    except ValueError as exc:
        raise exceptions.InvalidCidr(reason=str(exc)) from None
    if ip_version is not None and network.version != int(ip_version):
        raise exceptions.InvalidCidr(
            reason=f"{cidr} is not an IPv{ip_version} network")
    if network.version == 4 and network.prefixlen > 30:
        raise exceptions.InvalidCidr(reason=f"{cidr} is too small (at most /30)")
    if network.version == 6 and network.prefixlen > 64 and network.prefixlen != 128:
        raise exceptions.InvalidCidr(reason=f"{cidr}: IPv6 subnets must be /64 or larger")
    return network


def default_gateway(network):
    return str(next(network.hosts()))


def default_pools(network, gateway):
    """Every usable address but the gateway, as [{"start", "end"}]."""
    first, last = network.network_address + 1, network.broadcast_address - 1
    if network.version == 6:
        first, last = network.network_address + 1, network.broadcast_address
    pools = []
    gw = ipaddress.ip_address(gateway) if gateway else None
    if gw is not None and first <= gw <= last:
        if first < gw:
            pools.append((first, gw - 1))
        if gw < last:
            pools.append((gw + 1, last))
    else:
        pools.append((first, last))
    return [{"start": str(a), "end": str(b)} for a, b in pools]


def check_pools(network, pools, gateway):
    """Pools inside the CIDR, not overlapping, not holding the gateway;
    returns them as (first, last) address pairs."""
    spans = []
    gw = ipaddress.ip_address(gateway) if gateway else None
    for pool in pools:
        try:
            first = ipaddress.ip_address(pool["start"])
            last = ipaddress.ip_address(pool["end"])
        except (KeyError, TypeError, ValueError):
            raise exceptions.InvalidCidr(reason=f"invalid allocation pool {pool!r}") from None
        if first not in network or last not in network or first > last:
            raise exceptions.InvalidCidr(
                reason=f"allocation pool {first}-{last} is not inside {network}")
        if gw is not None and first <= gw <= last:
            raise exceptions.InvalidCidr(
                reason=f"gateway {gw} is inside allocation pool {first}-{last}")
        spans.append((first, last))
    spans.sort()
    for (_, last), (first, _) in zip(spans, spans[1:]):
        if first <= last:
            raise exceptions.InvalidCidr(reason="allocation pools overlap")
    return spans


def pool_size(spans):
    return sum(int(last) - int(first) + 1 for first, last in spans)


def populate(session, subnet_id, network, pools, gateway):
    """Write one free row per address of an IPv4 subnet's pools. Raises
    InvalidCidr when they hold more than [network] max_subnet_addresses."""
    if network.version != 4:
        return 0
    spans = check_pools(network, pools, gateway)
    size = pool_size(spans)
    if size > CONF.network.max_subnet_addresses:
        raise exceptions.InvalidCidr(
            reason=f"{network} has {size} addresses; at most "
                   f"{CONF.network.max_subnet_addresses} per subnet ([network] "
                   f"max_subnet_addresses)")
    for first, last in spans:
        session.execute(text("""
            INSERT INTO ip_allocations (subnet_id, address, pooled)
            SELECT :subnet_id, CAST(:first AS inet) + g, true
            FROM generate_series(0, :count - 1) AS g"""),
            {"subnet_id": subnet_id, "first": str(first),
             "count": int(last) - int(first) + 1})
    return size


def allocate(session, subnet, port_id, address=None, network_label=None):
    """Give ``port_id`` an address of ``subnet`` (a models.Subnet): the lowest
    free one, or ``address`` if asked. Returns the address as a string."""
    if subnet.ip_version == 6 and subnet.ipv6_address_mode in (None, "slaac",
                                                                "dhcpv6-stateless"):
        raise exceptions.InvalidIpForSubnet(address=address or "(auto)")
    params = {"subnet_id": subnet.id, "port_id": port_id}
    if address is not None:
        _check_in_subnet(subnet, address)
        got = session.execute(_CHOSEN, dict(params, address=address)).scalar()
        if got is None:
            if _exists(session, subnet.id, address):
                raise exceptions.IpAddressInUse(address=address, subnet=subnet.id)
            raise exceptions.InvalidIpForSubnet(address=address)
        return got
    first_free = _FIRST_FREE_SKIP_LOCKED
    deadline, pause = time.monotonic() + WAIT_FOR_LOCKED, 0.005
    while True:
        got = session.execute(first_free, params).scalar()
        if got is not None:
            return got
        # Nothing free and unlocked. Rows that still look free are held by
        # allocations in flight, which may roll back: wait for them without
        # holding any lock (a blocking FOR UPDATE scan keeps its locks on rows
        # others took meanwhile, and two such scans deadlock).
        if not _any_free(session, subnet.id) or time.monotonic() > deadline:
            raise exceptions.IpAddressExhausted(network=network_label or subnet.network_id)
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def allocate_slaac(session, subnet, port_id, mac):
    """The EUI-64 address of ``mac`` in an IPv6 /64 subnet, recorded for the port."""
    address = str(eui64(ipaddress.ip_network(str(subnet.cidr)), mac))
    inserted = session.execute(text("""
        INSERT INTO ip_allocations (subnet_id, address, port_id, pooled, allocated_at)
        VALUES (:subnet_id, CAST(:address AS inet), :port_id, false, now())
        ON CONFLICT DO NOTHING RETURNING host(address)"""),
        {"subnet_id": subnet.id, "address": address, "port_id": port_id}).scalar()
    if inserted is None:
        raise exceptions.IpAddressInUse(address=address, subnet=subnet.id)
    return inserted


def eui64(network, mac):
    octets = [int(part, 16) for part in mac.split(":")]
    octets[0] ^= 0x02
    interface_id = octets[:3] + [0xFF, 0xFE] + octets[3:]
    return network.network_address + int.from_bytes(bytes(interface_id), "big")


def release(session, subnet_id, address, port_id):
    """Free one address a port holds; AddressNotAllocated if it does not
    hold it (a double release)."""
    freed = session.execute(text("""
        WITH freed AS (
            DELETE FROM ip_allocations WHERE subnet_id = :subnet_id
              AND address = CAST(:address AS inet) AND port_id = :port_id AND NOT pooled
            RETURNING 1
        ), unset AS (
            UPDATE ip_allocations SET port_id = NULL, allocated_at = NULL
            WHERE subnet_id = :subnet_id AND address = CAST(:address AS inet)
              AND port_id = :port_id AND pooled
            RETURNING 1
        ) SELECT (SELECT count(*) FROM freed) + (SELECT count(*) FROM unset)"""),
        {"subnet_id": subnet_id, "address": address, "port_id": port_id}).scalar()
    if not freed:
        raise exceptions.AddressNotAllocated(address=address, subnet=subnet_id)


def release_port(session, port_id):
    """Free every address ``port_id`` holds; returns how many."""
    deleted = session.execute(text(
        "DELETE FROM ip_allocations WHERE port_id = :port_id AND NOT pooled"),
        {"port_id": port_id}).rowcount
    unset = session.execute(text(
        "UPDATE ip_allocations SET port_id = NULL, allocated_at = NULL "
        "WHERE port_id = :port_id AND pooled"), {"port_id": port_id}).rowcount
    return deleted + unset


def addresses_of(session, port_ids):
    """{port_id: [(subnet_id, address), ...]} for the given ports."""
    result = {port_id: [] for port_id in port_ids}
    if not port_ids:
        return result
    rows = session.execute(text(
        "SELECT port_id, subnet_id, host(address) FROM ip_allocations "
        "WHERE port_id = ANY(:ids) ORDER BY address"), {"ids": list(port_ids)})
    for port_id, subnet_id, address in rows:
        result[port_id].append((subnet_id, address))
    return result


def usage(session, subnet_id):
    """(used, total) addresses of a pooled subnet."""
    used, total = session.execute(text(
        "SELECT count(port_id), count(*) FROM ip_allocations "
        "WHERE subnet_id = :subnet_id AND pooled"), {"subnet_id": subnet_id}).one()
    return used, total


def _check_in_subnet(subnet, address):
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise exceptions.InvalidIpForSubnet(address=address) from None
    if ip not in ipaddress.ip_network(str(subnet.cidr)):
        raise exceptions.InvalidIpForSubnet(address=address)


def _any_free(session, subnet_id):
    return session.execute(text(
        "SELECT 1 FROM ip_allocations WHERE subnet_id = :subnet_id AND port_id IS NULL "
        "LIMIT 1"), {"subnet_id": subnet_id}).first() is not None


def _exists(session, subnet_id, address):
    return session.execute(text(
        "SELECT 1 FROM ip_allocations WHERE subnet_id = :subnet_id "
        "AND address = CAST(:address AS inet)"),
        {"subnet_id": subnet_id, "address": address}).first() is not None
