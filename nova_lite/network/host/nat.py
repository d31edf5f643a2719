"""Floating IPs as nftables NAT (pure functions), in the same inet table as
the security groups.

    nat_prerouting   floating -> fixed (DNAT) for packets arriving from outside
    nat_output       the same for the host's own packets, so the host reaches
                     a guest by its floating address too
    nat_postrouting  fixed -> floating (SNAT) for a guest's packets leaving
                     through the floating network's bridge

Both directions are lookups in maps (floating_dnat: floating -> fixed;
floating_snat: fixed . external bridge -> floating). DNATed packets then
traverse the forward chain with the fixed address as destination, so the
port's security group applies to floating IP traffic as well.

Each floating address is also put on its external bridge as a /32, so the
host answers ARP for it there (see plug.py).
"""


def floating_ips(vifs):
    """[(vif, FloatingIp)] whose fixed address really is one of the vif's."""
    pairs = []
    for vif in vifs:
        own = set(vif.addresses(4))
        pairs += [(vif, fip) for fip in vif.floating_ips if fip.fixed_address in own]
    return pairs


def external_addresses(vifs):
    """{external bridge: {floating address /32 strings}}."""
    result = {}
    for _vif, fip in floating_ips(vifs):
        result.setdefault(fip.bridge, set()).add(f"{fip.address}/32")
    return result


def external_gateways(vifs):
    """{external bridge: {gateway interface strings}} (e.g. "172.24.4.1/24")."""
    result = {}
    for _vif, fip in floating_ips(vifs):
        gateways = result.setdefault(fip.bridge, set())
        if fip.gateway_interface is not None:
            gateways.add(str(fip.gateway_interface))
    return result


def external_subnets(vifs):
    """{external bridge: {(cidr, gateway or None)}} of the floating IPs here."""
    result = {}
    for _vif, fip in floating_ips(vifs):
        result.setdefault(fip.bridge, set()).add((fip.cidr, fip.gateway))
    return result


def fixed_addresses(vifs, bridge):
    """The fixed addresses with a floating IP on external ``bridge``."""
    return {fip.fixed_address for _vif, fip in floating_ips(vifs) if fip.bridge == bridge}


def nat_body(vifs):
    """Lines inside ``table inet <name> { }`` for floating IPs ([] if none)."""
    pairs = floating_ips(vifs)
    if not pairs:
        return []
    dnat, snat = {}, {}
    for _vif, fip in pairs:        # map keys are unique: the first one wins
        dnat.setdefault(fip.address, fip.fixed_address)
        snat.setdefault((fip.fixed_address, fip.bridge), fip.address)
    dnat = [f"{floating} : {fixed}" for floating, fixed in dnat.items()]
    snat = [f'{fixed} . "{bridge}" : {floating}' for (fixed, bridge), floating in snat.items()]
    lines = ["map floating_dnat {", "\ttype ipv4_addr : ipv4_addr",
             "\telements = { " + ",\n\t\t".join(dnat) + " }", "}",
             "map floating_snat {", "\ttype ipv4_addr . ifname : ipv4_addr",
             "\telements = { " + ",\n\t\t".join(snat) + " }", "}"]
    for name, hook, statement in (
            ("nat_prerouting", "prerouting priority dstnat",
             "dnat ip to ip daddr map @floating_dnat"),
            ("nat_output", "output priority -100", "dnat ip to ip daddr map @floating_dnat"),
            ("nat_postrouting", "postrouting priority srcnat",
             "snat ip to ip saddr . oifname map @floating_snat")):
        lines += [f"chain {name} {{", f"\ttype nat hook {hook}; policy accept;",
                  f"\t{statement}", "}"]
    return lines
