"""A server's ``addresses`` and ``security_groups``, read from its ports in
three queries for a whole page of servers.

    "addresses": {"private": [{"version": 4, "addr": "10.0.0.5",
                               "OS-EXT-IPS:type": "fixed",
                               "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:…"}, …]}
"""
from typing import NamedTuple

from sqlalchemy import text


class ServerNetwork(NamedTuple):
    addresses: dict
    security_groups: list


EMPTY = ServerNetwork({}, [])

_FIXED = text("""
    SELECT p.device_id, p.id, p.mac_address, n.name, n.id, host(a.address),
           family(a.address)
    FROM ports p JOIN networks n ON n.id = p.network_id
    JOIN ip_allocations a ON a.port_id = p.id
    WHERE p.device_id = ANY(:uuids) AND p.device_owner LIKE 'compute:%'
    ORDER BY p.created_at, p.id, family(a.address), a.address""")

_FLOATING = text("""
    SELECT p.device_id, p.mac_address, n.name, n.id, host(f.floating_ip_address),
           family(f.floating_ip_address)
    FROM floating_ips f JOIN ports p ON p.id = f.port_id
    JOIN networks n ON n.id = p.network_id
    WHERE p.device_id = ANY(:uuids)
    ORDER BY f.created_at""")

_GROUPS = text("""
    SELECT DISTINCT p.device_id, g.name
    FROM port_security_groups pg JOIN ports p ON p.id = pg.port_id
    JOIN security_groups g ON g.id = pg.security_group_id
    WHERE p.device_id = ANY(:uuids)
    ORDER BY g.name""")


def _entry(version, addr, kind, mac):
    return {"version": version, "addr": addr, "OS-EXT-IPS:type": kind,
            "OS-EXT-IPS-MAC:mac_addr": mac}


def for_servers(session, uuids):
    """{server uuid: ServerNetwork} (servers without ports are absent)."""
    uuids = list(uuids)
    if not uuids:
        return {}
    addresses, groups = {}, {}
    params = {"uuids": uuids}
    for device, _port, mac, net_name, net_id, addr, family in session.execute(_FIXED, params):
        addresses.setdefault(device, {}).setdefault(net_name or net_id, []).append(
            _entry(family, addr, "fixed", mac))
    for device, mac, net_name, net_id, addr, family in session.execute(_FLOATING, params):
        addresses.setdefault(device, {}).setdefault(net_name or net_id, []).append(
            _entry(family, addr, "floating", mac))
    for device, name in session.execute(_GROUPS, params):
        groups.setdefault(device, []).append({"name": name})
    return {uuid: ServerNetwork(addresses.get(uuid, {}), groups.get(uuid, []))
            for uuid in set(addresses) | set(groups)}
