"""A server's ``addresses`` and ``security_groups``, read from its ports in
one query for a whole page of servers.

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

# One statement: the fixed addresses (kind 0, in port then address order),
# the floating ones (kind 1, oldest first) and the groups (kind 2, by name).
_NETWORK = text("""
    SELECT 0 AS kind, p.device_id, p.mac_address, n.name AS net_name, n.id AS net_id,
           host(a.address) AS addr, family(a.address) AS fam, p.created_at AS t,
           p.id AS port_id, a.address AS sort_addr, NULL AS group_name
    FROM ports p JOIN networks n ON n.id = p.network_id
    JOIN ip_allocations a ON a.port_id = p.id
    WHERE p.device_id = ANY(:uuids) AND p.device_owner LIKE 'compute:%'
    UNION ALL
    SELECT 1, p.device_id, p.mac_address, n.name, n.id, host(f.floating_ip_address),
           family(f.floating_ip_address), f.created_at, NULL, NULL, NULL
    FROM floating_ips f JOIN ports p ON p.id = f.port_id
    JOIN networks n ON n.id = p.network_id
    WHERE p.device_id = ANY(:uuids)
    UNION ALL
    SELECT 2, d.device_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, d.name
    FROM (SELECT DISTINCT p.device_id, g.name
          FROM port_security_groups pg JOIN ports p ON p.id = pg.port_id
          JOIN security_groups g ON g.id = pg.security_group_id
          WHERE p.device_id = ANY(:uuids)) d
    ORDER BY kind, t, port_id, fam, sort_addr, group_name""")


def _entry(version, addr, kind, mac):
    return {"version": version, "addr": addr, "OS-EXT-IPS:type": kind,
            "OS-EXT-IPS-MAC:mac_addr": mac}


def for_servers(session, uuids):
    """{server uuid: ServerNetwork} (servers without ports are absent)."""
    uuids = list(uuids)
    if not uuids:
        return {}
    addresses, groups = {}, {}
    for kind, device, mac, net_name, net_id, addr, family, *_, group in session.execute(
            _NETWORK, {"uuids": uuids}):
        if kind == 2:
            groups.setdefault(device, []).append({"name": group})
        else:
            addresses.setdefault(device, {}).setdefault(net_name or net_id, []).append(
                _entry(family, addr, "floating" if kind else "fixed", mac))
    return {uuid: ServerNetwork(addresses.get(uuid, {}), groups.get(uuid, []))
            for uuid in set(addresses) | set(groups)}
