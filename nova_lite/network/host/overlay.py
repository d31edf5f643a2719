"""Networks shared between hosts: a VXLAN segment per network (multicast
mode), a distributed gateway, and the provider uplink of floating IPs.

With ``[network] overlay = vxlan``, on every host that has a guest on a
network (and only there):

    nlbr-1a2b3c4d  (the network's bridge)          gateway addresses, MAC
      ├─ tap…      (the guests of this host)        gateway_mac(network id):
      └─ nlvx-<vni> vxlan id <vni>                  the same on every host
                    group <vxlan_group_range base + vni mod size>
                    dev <overlay_interface> local <overlay_local_ip>
                    dstport <vxlan_port>, learning on

Broadcast, multicast and unknown unicast go to the network's multicast
group, so only the hosts with the bridge (a guest on the network) get them;
the VXLAN device learns which host (VTEP) has which remote MAC from what it
receives, and the bridge learns which MACs are behind the VXLAN port, so
known unicast goes straight to the right host. No host is told about the
others: nothing in the control plane grows with the number of hosts.

Every host is the router of its own guests: its bridge carries the same
gateway addresses and the same MAC as on every other host. In the nft
``bridge`` table the VXLAN port drops, both ways, frames from or to the
gateway MAC, ARP naming a gateway IPv4 address, neighbour discovery for a
gateway IPv6 address (and its link-local), router solicitations and
advertisements, redirects, and DHCP/DHCPv6: the gateway never shows up on
another host (no MAC flapping; each host's bridge fdb knows it only as its
own) and each host's dnsmasq answers only its own guests.

With ``[network] external_interface`` the external network's bridge is the
provider uplink instead: see ``ensure_uplink``.

Pure functions (names, groups, MTU, nft lines, argv) and the few iproute2
calls that apply them. Imports: the standard library and nova_lite.conf.
"""
import hashlib
import ipaddress
import json
import logging
import os

from nova_lite.conf import CONF
from nova_lite.network.host import commands, firewall
from nova_lite.network.host.bridge import sys_attribute

LOG = logging.getLogger(__name__)
SYS = "/sys/class/net"
PREFIX = "nlvx-"
GATEWAY_MAC_PREFIX = "fa:16:3f"
OVERHEAD = {4: 50, 6: 70}    # outer Ethernet 14 + IP 20/40 + UDP 8 + VXLAN 8
DHCP_PORTS = "67, 68, 546, 547"


class OverlayError(RuntimeError):
    pass


def enabled():
    return CONF.network.overlay == "vxlan"


def device_name(vni):
    """The VXLAN device of segment ``vni``: nlvx-<vni> (at most 13 bytes)."""
    return f"{PREFIX}{int(vni)}"


def group_range():
    try:
        network = ipaddress.ip_network(CONF.network.vxlan_group_range, strict=False)
    except ValueError:
        raise OverlayError(f"[network] vxlan_group_range "
                           f"{CONF.network.vxlan_group_range!r} is not a prefix") from None
    if not network.is_multicast:
        raise OverlayError(f"[network] vxlan_group_range {network} is not multicast")
    return network


def group(vni):
    """The multicast group of segment ``vni``: base + (vni mod size)."""
    network = group_range()
    return network.network_address + (int(vni) % network.num_addresses)


def gateway_mac(network_id):
    """The MAC of a network's gateway on every host: fa:16:3f + 3 bytes of a
    hash of the network id (ports are fa:16:3e:…, so never a guest's)."""
    digest = hashlib.sha256(network_id.encode()).digest()
    return GATEWAY_MAC_PREFIX + "".join(f":{b:02x}" for b in digest[:3])


def overhead():
    return OVERHEAD[group_range().version]


def guest_mtu(network_mtu, underlay_mtu):
    """What guests get: the network's MTU, lowered to fit in the underlay
    once encapsulated (VXLAN costs 50 bytes over IPv4, 70 over IPv6)."""
    fitting = int(underlay_mtu) - overhead()
    return min(int(network_mtu), fitting) if network_mtu else fitting


def underlay_mtu():
    name = _underlay()
    value = sys_attribute(name, "mtu")
    if value is None:
        raise OverlayError(f"[network] overlay_interface {name} does not exist")
    return int(value)


def local_ip():
    """This host's underlay address: overlay_local_ip, else the first
    address of overlay_interface in the group's family."""
    family = group_range().version
    if CONF.network.overlay_local_ip:
        try:
            address = ipaddress.ip_address(CONF.network.overlay_local_ip)
        except ValueError:
            raise OverlayError(f"[network] overlay_local_ip "
                               f"{CONF.network.overlay_local_ip!r} is not an address") from None
        if address.version != family:
            raise OverlayError(f"[network] overlay_local_ip {address} is not of the "
                               f"family of vxlan_group_range")
        return address
    out = commands.run(["ip", "-j", "addr", "show", "dev", _underlay()])
    for link in json.loads(out or "[]"):
        for info in link.get("addr_info", []):
            if info.get("family") == ("inet" if family == 4 else "inet6") and \
                    info.get("scope") == "global":
                return ipaddress.ip_address(info["local"])
    raise OverlayError(f"[network] overlay_interface {_underlay()} has no IPv{family} "
                       "address; set overlay_local_ip")


def _underlay():
    name = CONF.network.overlay_interface
    if not name:
        raise OverlayError("[network] overlay = vxlan needs overlay_interface (the "
                           "underlay device the multicast groups are joined on)")
    return name


# -- the VXLAN devices -----------------------------------------------------------
def vxlan_argv(vni, local, mtu=None):
    """``ip link add`` of segment ``vni``'s device. Learning stays on: the
    device learns which VTEP has which remote MAC from what it receives, so
    known unicast is not flooded to the group."""
    argv = ["ip", "link", "add", device_name(vni)]
    if mtu:
        argv += ["mtu", mtu]
    return argv + ["type", "vxlan", "id", int(vni), "group", str(group(vni)),
                   "dev", _underlay(), "local", str(local),
                   "dstport", int(CONF.network.vxlan_port), "learning"]


def ensure_vxlan(vni, bridge, mtu=None):
    """Segment ``vni``'s device exists with the configured group, underlay and
    port (else it is made again), has ``mtu``, is a port of ``bridge`` and is up."""
    name = device_name(vni)
    local = local_ip()
    wanted = {"id": int(vni), "group": str(group(vni)), "local": str(local),
              "link": _underlay(), "port": int(CONF.network.vxlan_port)}
    have = _vxlan_info(name)
    if have is not None and {k: have.get(k) for k in wanted} != wanted:
        LOG.info("re-making %s: %s instead of %s", name, have, wanted)
        remove_vxlan(name)
        have = None
    if have is None:
        if os.path.exists(os.path.join(SYS, name)):
            raise OverlayError(f"{name} exists and is not a VXLAN device")
        commands.run(vxlan_argv(vni, local, mtu))
        LOG.info("created %s (group %s) on %s", name, wanted["group"], bridge)
    if mtu and sys_attribute(name, "mtu") != str(mtu):
        commands.run(["ip", "link", "set", "dev", name, "mtu", mtu])
    if not os.path.exists(os.path.join(SYS, name, "brport")) or \
            os.path.basename(os.path.realpath(os.path.join(SYS, name, "master"))) != bridge:
        commands.run(["ip", "link", "set", "dev", name, "master", bridge])
    if not int(sys_attribute(name, "flags") or "0", 16) & 1:          # IFF_UP
        commands.run(["ip", "link", "set", "dev", name, "up"])


def remove_vxlan(name):
    """Delete a VXLAN device (the host leaves its group)."""
    if not name.startswith(PREFIX) or not os.path.exists(os.path.join(SYS, name)):
        return
    try:
        commands.run(["ip", "link", "del", "dev", name])
    except commands.CommandError as exc:
        if "Cannot find device" not in exc.stderr:
            raise
    LOG.info("removed %s", name)


def devices():
    """Our VXLAN devices on this host (nlvx-*)."""
    try:
        return sorted(n for n in os.listdir(SYS) if n.startswith(PREFIX))
    except FileNotFoundError:
        return []


def _vxlan_info(name):
    if not os.path.exists(os.path.join(SYS, name)):
        return None
    out = commands.run(["ip", "-d", "-j", "link", "show", "dev", name], check=False)
    try:
        link = json.loads(out or "[]")[0]
    except (ValueError, IndexError):
        return None
    info = link.get("linkinfo") or {}
    if info.get("info_kind") != "vxlan":
        return {}
    return info.get("info_data") or {}


def ensure_mac(bridge, mac):
    """Give ``bridge`` the network's gateway MAC (the same on every host)."""
    if sys_attribute(bridge, "address") != mac:
        commands.run(["ip", "link", "set", "dev", bridge, "address", mac])
        LOG.info("%s has the gateway MAC %s", bridge, mac)


# -- the nft bridge table: what never crosses a VXLAN port -------------------------
def bridge_lines(segments):
    """Lines inside ``table bridge <name> { }`` for the VXLAN ports.

    ``segments``: [{"device", "mac", "gateways": [ip addresses]}]. Frames
    entering from (prerouting) or leaving through (output, forward) a VXLAN
    port jump the segment's chain, which drops what must stay on the host."""
    if not segments:
        return []
    lines = ["map overlay_ports {", "\ttype ifname : verdict",
             "\telements = { " + ",\n\t\t".join(
                 f'"{s["device"]}" : jump {chain_name(s["device"])}'
                 for s in segments) + " }", "}"]
    lines += firewall._chain("overlay_out", "type filter hook output priority filter; "
                                            "policy accept;", ["oifname vmap @overlay_ports"])
    lines += firewall._chain("overlay_forward", "type filter hook forward priority "
                                                "filter; policy accept;",
                             ["oifname vmap @overlay_ports"])
    for segment in segments:
        lines += firewall._chain(chain_name(segment["device"]), None,
                                 segment_rules(segment["mac"], segment["gateways"]))
    return lines


def prerouting_rule():
    """Added to the bridge table's prerouting chain when there are segments."""
    return "iifname vmap @overlay_ports"


def chain_name(device):
    return "overlay_" + device[len(PREFIX):]


def segment_rules(mac, gateways):
    """Drops, in both directions, of everything that would make a host's
    gateway, router advertisements or DHCP server visible to another host."""
    v4 = sorted({str(a) for a in gateways if a.version == 4}, key=ipaddress.ip_address)
    v6 = sorted({ipaddress.ip_address(a) for a in gateways if a.version == 6}
                | {firewall.link_local(mac)})
    rules = [f"ether saddr {mac} drop", f"ether daddr {mac} drop"]
    if v4:
        rules += [f"arp saddr ip {firewall._set(v4)} drop",
                  f"arp daddr ip {firewall._set(v4)} drop"]
    targets = firewall._set(f"0x{int(a):032x}" for a in v6)
    rules += [
        "icmpv6 type { nd-router-solicit, nd-router-advert, nd-redirect } drop",
        # the target address of a neighbour solicitation / advertisement
        f"icmpv6 type {{ nd-neighbor-solicit, nd-neighbor-advert }} @th,64,128 "
        f"{targets} drop",
        f"udp dport {{ {DHCP_PORTS} }} drop",
    ]
    return rules
