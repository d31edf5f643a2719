"""Security groups as nftables text (pure functions: vifs in, lines out).

Two tables, both named [network] nft_table, so each compute service on a
machine owns exactly its pair and never touches anything else:

``table inet <name>`` — stateful filtering. Bridged IPv4/IPv6 frames are
passed to the inet hooks by br_netfilter (each bridge sets nf_call_iptables
and nf_call_ip6tables), where conntrack works; in the nft *bridge* family it
does not on this kernel. Chains:

    forward        established/related accept; then the sending port's egress
                   chain (vmap on source address . input bridge) and the
                   receiving port's ingress chain (vmap on destination address
                   . output bridge): guest<->guest, guest<->outside, floating IPs
    output         the host's own packets to a guest, also through a floating IP
                   (vmap on destination address alone: after DNAT the output
                   hook still names "lo"): the port's ingress chain
    input          packets from a guest bridge to the host: guest_to_host
    guest_to_host  the port's egress chain, then only DHCP, ICMP echo and
                   ICMPv6 reach the host (its other services stay private)
    in_<tap>       ct invalid drop; DHCP/ICMPv6 ND; the ingress rules; drop
    out_<tap>      ct invalid drop; DHCP/ICMPv6 ND; the egress rules; drop
    g4_<group>,    named sets: the members of a group some rule names as
    g6_<group>     remote group (``ip saddr @g4_<group> ... return``), updated
                   element by element as members come and go (plug.py)

Port chains end in ``return`` when a rule allows the packet (the next check
still applies) and ``drop`` otherwise. Keys of the forward maps are
address . bridge; the output maps key on the address alone (subnets never
overlap, so an address names one port). Ports without port security are in no
map: nothing filters them.

``table bridge <name>`` — stateless anti-spoofing on each port's tap (the
bridge family sees the tap as iifname; the inet family only sees the bridge):
the port's MAC, its own IPv4/IPv6 addresses (plus 0.0.0.0 for DHCP discover,
:: for DAD and its EUI-64 link-local), ARP from its own addresses only, no
DHCP server replies, no router advertisements, no other ethertypes.
"""
import ipaddress

from nova_lite.network.host import groups

# Neutron's protocol names -> IP protocol numbers.
PROTOCOLS = {
    "ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "icmp": 1, "icmpv6": 58,
    "igmp": 2, "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58,
    "ipv6-nonxt": 59, "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89, "pgm": 113,
    "rsvp": 46, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136, "vrrp": 112,
}
PORT_PROTOCOLS = {6: "tcp", 17: "udp", 132: "sctp", 33: "dccp", 136: "udplite"}
ND_IN = "nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-query"
ND_OUT = ("nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, "
          "mld-listener-report, mld2-listener-report")


class UnsupportedRule(ValueError):
    pass


def chain_name(direction, tap):
    """in_<tap>, out_<tap>, spoof_<tap> (tap names are valid nft identifiers
    after a prefix: model.ifname allows only A-Z a-z 0-9 _ . -)."""
    return f"{direction}_{tap}"


def filtered(vifs):
    """The vifs whose traffic is filtered (port security on)."""
    return [vif for vif in vifs if vif.port_security]


# -- inet table ---------------------------------------------------------------
def remote_groups(vifs):
    """Ids of the groups the rules of the filtered ``vifs`` name as remote."""
    return {rule.remote_group_id for vif in filtered(vifs) for rule in vif.rules
            if rule.remote_group_id}


def inet_body(vifs, warn=None, members=None):
    """Lines inside ``table inet <name> { }``: maps, the remote groups' sets
    (``members``: {group id: [addresses]}), base chains, port chains."""
    vifs = filtered(vifs)
    members = members or {}
    lines = []
    for group_id in sorted(remote_groups(vifs)):
        for version, kind in ((4, "ipv4_addr"), (6, "ipv6_addr")):
            elements = [a for a in members.get(group_id, ())
                        if ipaddress.ip_address(a).version == version]
            lines += [f"set {groups.set_name(group_id, version)} {{", f"\ttype {kind}"]
            if elements:
                lines.append("\telements = { " + ",\n\t\t".join(elements) + " }")
            lines.append("}")
    for direction in ("in", "out"):
        for version, kind in ((4, "ipv4_addr"), (6, "ipv6_addr")):
            elements = _map_elements(vifs, direction, version)
            lines += [f"map ports_{direction}{version} {{",
                      f"\ttype {kind} . ifname : verdict"]
            if elements:
                lines.append("\telements = { " + ",\n\t\t".join(elements) + " }")
            lines.append("}")
    for version, kind in ((4, "ipv4_addr"), (6, "ipv6_addr")):
        # The host's own packets: a floating IP is a local address, so its
        # packets leave by "lo" as far as the output hook is concerned, even
        # after DNAT turned them towards the guest. Key on the address only
        # (subnets never overlap, so an address names one port).
        elements = _local_elements(vifs, version)
        lines += [f"map host_in{version} {{", f"\ttype {kind} : verdict"]
        if elements:
            lines.append("\telements = { " + ",\n\t\t".join(elements) + " }")
        lines.append("}")
    lines += _chain("forward", "type filter hook forward priority filter; policy accept;", [
        "ct state established,related accept",
        "ip saddr . iifname vmap @ports_out4",
        "ip6 saddr . iifname vmap @ports_out6",
        "ip daddr . oifname vmap @ports_in4",
        "ip6 daddr . oifname vmap @ports_in6",
    ])
    lines += _chain("output", "type filter hook output priority filter; policy accept;", [
        "ct state established,related accept",
        "ip daddr vmap @host_in4",
        "ip6 daddr vmap @host_in6",
    ])
    return lines + [line for vif in vifs for line in port_chains(vif, warn)]


def guest_bridge_lines(bridges):
    """The input hook: what guests on ``bridges`` may send to the host itself."""
    rules = []
    if bridges:
        names = ", ".join(f'"{b}"' for b in sorted(bridges))
        rules.append(f"iifname {{ {names} }} jump guest_to_host")
    lines = _chain("input", "type filter hook input priority filter; policy accept;", rules)
    return lines + _chain("guest_to_host", None, [
        "ct state established,related accept",
        "ct state invalid drop",
        "ip saddr . iifname vmap @ports_out4",
        "ip6 saddr . iifname vmap @ports_out6",
        "udp dport { 67, 547 } accept",
        "icmp type echo-request accept",
        "meta l4proto ipv6-icmp accept",
        "drop",
    ])


def _map_elements(vifs, direction, version):
    chain = "in" if direction == "in" else "out"
    return [f'{address} . "{vif.bridge}" : jump {chain_name(chain, vif.tap)}'
            for vif in vifs for address in sorted(set(vif.addresses(version)))]


def _local_elements(vifs, version):
    chains = {}
    for vif in vifs:
        for address in sorted(set(vif.addresses(version))):
            chains.setdefault(address, chain_name("in", vif.tap))   # first one wins
    return [f"{address} : jump {chain}" for address, chain in chains.items()]


def port_chains(vif, warn=None):
    """The in_<tap> and out_<tap> chains of one port."""
    ingress = ["ct state invalid drop",
               "udp sport 67 udp dport 68 return",
               "udp sport 547 udp dport 546 return",
               f"icmpv6 type {{ {ND_IN} }} return"]
    egress = ["ct state invalid drop",
              "udp sport 68 udp dport 67 return",
              "udp sport 546 udp dport 547 return",
              f"icmpv6 type {{ {ND_OUT} }} return"]
    for rule in vif.rules:
        try:
            statement = rule_statement(rule)
        except UnsupportedRule as exc:
            if warn:
                warn(f"port {vif.port_id}: rule skipped: {exc}")
            continue
        if statement is not None:
            (ingress if rule.direction == "ingress" else egress).append(statement)
    return (_chain(chain_name("in", vif.tap), None, ingress + ["drop"])
            + _chain(chain_name("out", vif.tap), None, egress + ["drop"]))


def rule_statement(rule):
    """One security group rule as an nft statement ending in ``return``, or
    None if it can match nothing. A remote group is its set (empty until the
    host hears of its members: then the rule matches nobody)."""
    family = "ip6" if rule.version == 6 else "ip"
    field = "saddr" if rule.direction == "ingress" else "daddr"
    if rule.remote_group_id:
        parts = [f"{family} {field} @{groups.set_name(rule.remote_group_id, rule.version)}"]
        protocol = _protocol(rule)
        if protocol is not None:
            parts += _protocol_match(rule, protocol)
        return " ".join(parts + ["return"])
    if not rule.remote_ip_prefixes:
        return None
    prefixes = [p for p in rule.remote_ip_prefixes if p.prefixlen]
    if len(prefixes) == len(rule.remote_ip_prefixes):     # no /0 among them
        parts = [f"{family} {field} {_set(str(p) for p in prefixes)}"]
    else:
        parts = [f"meta nfproto {'ipv6' if rule.version == 6 else 'ipv4'}"]
    protocol = _protocol(rule)
    if protocol is not None:
        parts += _protocol_match(rule, protocol)
    return " ".join(parts + ["return"])


def _protocol(rule):
    """The rule's IP protocol number, or None for any."""
    if rule.protocol is None:
        return None
    if rule.protocol.isdigit():
        number = int(rule.protocol)
        if not 0 <= number <= 255:
            raise UnsupportedRule(f"protocol {rule.protocol}")
    elif rule.protocol in PROTOCOLS:
        number = PROTOCOLS[rule.protocol]
    else:
        raise UnsupportedRule(f"unknown protocol {rule.protocol!r}")
    if number == 1 and rule.version == 6:     # Neutron: "icmp" on IPv6 is ICMPv6
        number = 58
    return number


def _protocol_match(rule, number):
    """Matches for the protocol and its port range (ICMP: type and code)."""
    low, high = rule.port_range_min, rule.port_range_max
    if number in (1, 58):
        icmp = "icmp" if number == 1 else "icmpv6"
        if (number == 1) != (rule.version == 4):
            raise UnsupportedRule(f"{icmp} in an {rule.ethertype} rule")
        if low is None:
            return [f"meta l4proto {icmp if number == 1 else 'ipv6-icmp'}"]
        if low > 255 or (high is not None and high > 255):
            raise UnsupportedRule(f"{icmp} type {low} code {high}")
        return [f"{icmp} type {low}"] + ([f"{icmp} code {high}"] if high is not None else [])
    name = PORT_PROTOCOLS.get(number)
    if name is None or (low is None and high is None):
        return [f"meta l4proto {name or number}"]
    low = low if low is not None else high
    high = high if high is not None else low
    if low > high:
        raise UnsupportedRule(f"port range {low}-{high}")
    return [f"{name} dport {low if low == high else f'{low}-{high}'}"]


# -- bridge table -------------------------------------------------------------
def bridge_body(vifs, prerouting=()):
    """Lines inside ``table bridge <name> { }``: per-tap anti-spoofing
    (``prerouting``: more rules for that chain, e.g. the VXLAN ports')."""
    vifs = filtered(vifs)
    lines = ["map ports {", "\ttype ifname : verdict"]
    if vifs:
        lines.append("\telements = { " + ",\n\t\t".join(
            f'"{vif.tap}" : jump {chain_name("spoof", vif.tap)}' for vif in vifs) + " }")
    lines.append("}")
    lines += _chain("prerouting", "type filter hook prerouting priority filter; "
                                  "policy accept;", ["iifname vmap @ports",
                                                     *prerouting])
    for vif in vifs:
        lines += _chain(chain_name("spoof", vif.tap), None, spoof_rules(vif))
    return lines


def spoof_rules(vif):
    v4 = sorted({str(a) for a in vif.addresses(4)}, key=ipaddress.ip_address)
    v6 = sorted({str(a) for a in vif.addresses(6)} | {str(link_local(vif.mac)), "::"},
                key=ipaddress.ip_address)
    rules = [f"ether saddr != {vif.mac} drop",
             "ether type != { ip, ip6, arp } drop"]
    if v4:
        rules += [f"arp saddr ether != {vif.mac} drop",
                  f"arp saddr ip != {_set(v4 + ['0.0.0.0'])} drop",
                  "ip saddr 0.0.0.0 udp sport 68 udp dport 67 return",
                  f"ip saddr != {_set(v4)} drop"]
    else:
        rules += ["ether type { ip, arp } drop"]
    rules += [f"ip6 saddr != {_set(v6)} drop",
              "udp sport { 67, 547 } drop",            # no DHCP servers in guests
              "icmpv6 type { nd-router-advert, nd-redirect } drop"]
    return rules


def link_local(mac):
    """The EUI-64 IPv6 link-local address a NIC with ``mac`` forms."""
    octets = [int(x, 16) for x in mac.split(":")]
    octets[0] ^= 0x02
    eui = octets[:3] + [0xff, 0xfe] + octets[3:]
    return ipaddress.IPv6Address(bytes([0xfe, 0x80] + [0] * 6 + eui))


# -- helpers ----------------------------------------------------------------
def _set(items):
    items = list(items)
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


def _chain(name, hook, rules):
    lines = [f"chain {name} {{"]
    if hook:
        lines.append(f"\t{hook}")
    lines += [f"\t{rule}" for rule in rules]
    return lines + ["}"]
