"""Security groups, anti-spoofing and floating IP NAT as nftables text
(nova_lite.network.host.firewall, nat, nftables): generated from network_info,
and accepted by ``nft -c`` (check mode) where nft can run."""
import os
import re
import shutil
import subprocess

import pytest

from nova_lite.network.host import firewall, model, nat, nftables
from tests.fixtures import network_info as ni

SUBNET4 = ni.subnet("10.0.0.0/24", subnet_id="s4")
SUBNET6 = ni.subnet("fd00:1::/64", subnet_id="s6", ipv6_address_mode="slaac")
MAC = "fa:16:3e:11:22:33"
PORT = "1a2b3c4d-5e6f-4a5b-8c9d-0e1f2a3b4c5d"
TAP = "tap1a2b3c4d-5e"


def vifs(rules=(), **kwargs):
    kwargs.setdefault("port_id", PORT)
    kwargs.setdefault("mac", MAC)
    kwargs.setdefault("addresses", ["10.0.0.5"])
    kwargs.setdefault("subnets", [SUBNET4])
    return model.parse([ni.vif(rules=rules, **kwargs)])


def chain(text, name):
    """The rule lines of chain ``name`` in generated nft text."""
    match = re.search(rf"chain {name} {{\n(.*?)\n\t*}}", text, re.DOTALL)
    assert match, f"no chain {name} in:\n{text}"
    return [line.strip() for line in match.group(1).splitlines()]


def statement(**kwargs):
    return firewall.rule_statement(model.parse([ni.vif(
        ["10.0.0.5"], [SUBNET4], rules=[ni.rule(**kwargs)])])[0].rules[0])


# -- one rule -> one statement ------------------------------------------------------
@pytest.mark.parametrize("kwargs,expected", [
    ({"protocol": "tcp", "port_range_min": 22, "port_range_max": 22},
     "meta nfproto ipv4 tcp dport 22 return"),
    ({"protocol": "tcp", "port_range_min": 1000, "port_range_max": 2000},
     "meta nfproto ipv4 tcp dport 1000-2000 return"),
    ({"protocol": "udp", "port_range_min": 53, "port_range_max": None},
     "meta nfproto ipv4 udp dport 53 return"),
    ({"protocol": "tcp"}, "meta nfproto ipv4 meta l4proto tcp return"),
    ({"protocol": "icmp"}, "meta nfproto ipv4 meta l4proto icmp return"),
    ({"protocol": "icmp", "port_range_min": 8}, "meta nfproto ipv4 icmp type 8 return"),
    ({"protocol": "icmp", "port_range_min": 3, "port_range_max": 4},
     "meta nfproto ipv4 icmp type 3 icmp code 4 return"),
    ({"protocol": "icmp", "ethertype": "IPv6"},
     "meta nfproto ipv6 meta l4proto ipv6-icmp return"),
    ({"protocol": "ipv6-icmp", "ethertype": "IPv6", "port_range_min": 128},
     "meta nfproto ipv6 icmpv6 type 128 return"),
    ({"protocol": "gre"}, "meta nfproto ipv4 meta l4proto 47 return"),
    ({"protocol": "112"}, "meta nfproto ipv4 meta l4proto 112 return"),
    ({}, "meta nfproto ipv4 return"),
    ({"ethertype": "IPv6"}, "meta nfproto ipv6 return"),
])
def test_protocols_and_port_ranges(kwargs, expected):
    assert statement(**kwargs) == expected


def test_remote_prefixes_match_the_source_of_ingress_and_the_destination_of_egress():
    assert statement(protocol="tcp", port_range_min=80, port_range_max=80,
                     prefixes=["192.168.1.0/24", "10.9.9.9/32"]) == \
        "ip saddr { 10.9.9.9/32, 192.168.1.0/24 } tcp dport 80 return"
    assert statement(direction="egress", protocol="udp", port_range_min=53,
                     port_range_max=53, prefixes=["8.8.8.8/32"]) == \
        "ip daddr 8.8.8.8/32 udp dport 53 return"
    assert statement(ethertype="IPv6", prefixes=["fd00::/8"]) == "ip6 saddr fd00::/8 return"


def test_host_bits_of_a_prefix_are_cleared_and_other_families_dropped():
    assert statement(prefixes=["10.1.2.3/8", "fd00::/8"]) == "ip saddr 10.0.0.0/8 return"


def test_a_remote_group_without_members_matches_nothing():
    assert statement(protocol="tcp", prefixes=[]) is None
    text = "\n".join(firewall.port_chains(vifs([ni.rule(protocol="tcp", prefixes=[])])[0]))
    assert chain(text, "in_tap1a2b3c4d-5e")[-1] == "drop"
    assert not [line for line in chain(text, "in_tap1a2b3c4d-5e") if "l4proto tcp" in line]


def test_unsupported_rules_are_skipped_with_a_warning():
    warnings = []
    rules = [ni.rule(protocol="no-such-proto"), ni.rule(protocol="icmpv6")]
    text = "\n".join(firewall.port_chains(vifs(rules)[0], warnings.append))
    assert len(warnings) == 2 and "no-such-proto" in warnings[0]
    assert "no-such-proto" not in text


# -- a port's chains ---------------------------------------------------------------------
def test_ingress_default_drop_with_dhcp_and_neighbour_discovery_allowed():
    text = "\n".join(firewall.inet_body(vifs([ni.SSH_IN, ni.ALL_OUT])))
    ingress = chain(text, "in_tap1a2b3c4d-5e")
    assert ingress[0] == "ct state invalid drop"
    assert "udp sport 67 udp dport 68 return" in ingress
    assert any(line.startswith("icmpv6 type { nd-router-advert") for line in ingress)
    assert ingress[-2:] == ["meta nfproto ipv4 tcp dport 22 return", "drop"]
    egress = chain(text, "out_tap1a2b3c4d-5e")
    assert "udp sport 68 udp dport 67 return" in egress
    assert egress[-2:] == ["meta nfproto ipv4 return", "drop"]


def test_no_egress_rule_means_egress_dropped():
    text = "\n".join(firewall.inet_body(vifs([ni.ICMP_IN])))
    egress = chain(text, "out_tap1a2b3c4d-5e")
    assert egress[-1] == "drop"
    assert not [line for line in egress if line.startswith("meta nfproto")]


def test_ports_are_chosen_by_address_and_bridge_in_both_directions():
    text = "\n".join(firewall.inet_body(vifs(addresses=["10.0.0.5", "fd00:1::5"],
                                             subnets=[SUBNET4, SUBNET6])))
    assert '10.0.0.5 . "nlbr-1a2b3c4d" : jump in_tap1a2b3c4d-5e' in text
    assert 'fd00:1::5 . "nlbr-1a2b3c4d" : jump in_tap1a2b3c4d-5e' in text
    assert '10.0.0.5 . "nlbr-1a2b3c4d" : jump out_tap1a2b3c4d-5e' in text
    forward = chain(text, "forward")
    assert forward[:2] == ["type filter hook forward priority filter; policy accept;",
                           "ct state established,related accept"]
    # egress of the sender first, then ingress of the receiver
    assert forward.index("ip saddr . iifname vmap @ports_out4") < \
        forward.index("ip daddr . oifname vmap @ports_in4")
    # The host's own packets (also to a floating IP, which leaves by "lo")
    # find the port by destination address alone.
    assert chain(text, "output")[2:] == ["ip daddr vmap @host_in4",
                                         "ip6 daddr vmap @host_in6"]
    assert "10.0.0.5 : jump in_tap1a2b3c4d-5e" in text
    assert "fd00:1::5 : jump in_tap1a2b3c4d-5e" in text


def test_port_security_off_means_no_filtering_at_all():
    body = vifs([ni.ICMP_IN], port_security=False)
    inet = "\n".join(firewall.inet_body(body))
    bridge = "\n".join(firewall.bridge_body(body))
    assert "tap1a2b3c4d" not in inet and "elements" not in inet
    assert "tap1a2b3c4d" not in bridge and "elements" not in bridge


def test_anti_spoofing_allows_only_the_ports_own_mac_and_addresses():
    body = vifs(addresses=["10.0.0.5", "fd00:1::5"], subnets=[SUBNET4, SUBNET6])
    text = "\n".join(firewall.bridge_body(body))
    assert '"tap1a2b3c4d-5e" : jump spoof_tap1a2b3c4d-5e' in text
    assert chain(text, "prerouting")[-1] == "iifname vmap @ports"
    spoof = chain(text, "spoof_tap1a2b3c4d-5e")
    assert spoof[0] == f"ether saddr != {MAC} drop"
    assert "ether type != { ip, ip6, arp } drop" in spoof
    assert f"arp saddr ether != {MAC} drop" in spoof
    assert "arp saddr ip != { 10.0.0.5, 0.0.0.0 } drop" in spoof
    assert "ip saddr 0.0.0.0 udp sport 68 udp dport 67 return" in spoof       # DHCP
    assert "ip saddr != 10.0.0.5 drop" in spoof
    assert "ip6 saddr != { ::, fd00:1::5, fe80::f816:3eff:fe11:2233 } drop" in spoof
    assert "udp sport { 67, 547 } drop" in spoof
    assert "icmpv6 type { nd-router-advert, nd-redirect } drop" in spoof


def test_a_port_without_ipv4_sends_no_ipv4():
    spoof = firewall.spoof_rules(vifs(addresses=["fd00:1::5"], subnets=[SUBNET6])[0])
    assert "ether type { ip, arp } drop" in spoof
    assert not [line for line in spoof if line.startswith("ip saddr")]


def test_link_local_is_the_eui64_of_the_mac():
    assert str(firewall.link_local("fa:16:3e:11:22:33")) == "fe80::f816:3eff:fe11:2233"


def test_guests_reach_only_dhcp_icmp_on_the_host():
    text = "\n".join(firewall.guest_bridge_lines({"nlbr-b", "nlbr-a"}))
    assert chain(text, "input")[-1] == 'iifname { "nlbr-a", "nlbr-b" } jump guest_to_host'
    rules = chain(text, "guest_to_host")
    assert rules[-1] == "drop"
    assert "udp dport { 67, 547 } accept" in rules
    assert "ip saddr . iifname vmap @ports_out4" in rules


# -- NAT ----------------------------------------------------------------------
def test_floating_ips_dnat_in_prerouting_and_output_and_snat_out_of_the_external_bridge():
    fip = ni.floating("172.24.4.10", "10.0.0.5", "nlbr-ext", "172.24.4.0/24")
    body = vifs(floating_ips=[fip])
    text = "\n".join(nat.nat_body(body))
    assert "172.24.4.10 : 10.0.0.5" in text
    assert '10.0.0.5 . "nlbr-ext" : 172.24.4.10' in text
    assert chain(text, "nat_prerouting")[-1] == "dnat ip to ip daddr map @floating_dnat"
    assert chain(text, "nat_output")[0] == "type nat hook output priority -100; policy accept;"
    assert chain(text, "nat_output")[-1] == "dnat ip to ip daddr map @floating_dnat"
    assert chain(text, "nat_postrouting")[-1] == \
        "snat ip to ip saddr . oifname map @floating_snat"
    assert nat.external_addresses(body) == {"nlbr-ext": {"172.24.4.10/32"}}
    assert nat.external_gateways(body) == {"nlbr-ext": {"172.24.4.1/24"}}


def test_no_floating_ips_no_nat_and_foreign_fixed_addresses_ignored():
    assert nat.nat_body(vifs()) == []
    stray = ni.floating("172.24.4.10", "10.0.0.99", "nlbr-ext", "172.24.4.0/24")
    assert nat.nat_body(vifs(floating_ips=[stray])) == []


# -- the whole script -----------------------------------------------------------------
def test_the_script_replaces_both_tables_in_one_transaction():
    script = nftables.ruleset(vifs([ni.SSH_IN]), {"nlbr-1a2b3c4d"}, table="nl_unit")
    lines = script.splitlines()
    assert lines[:3] == ["table inet nl_unit", "delete table inet nl_unit",
                         "table inet nl_unit {"]
    assert "table bridge nl_unit" in lines and "delete table bridge nl_unit" in lines
    assert nftables.removal("nl_unit") == ("table inet nl_unit\ndelete table inet nl_unit\n"
                                           "table bridge nl_unit\n"
                                           "delete table bridge nl_unit\n")


def test_table_name_is_checked():
    from tests.fixtures.libvirtd import conf_overrides
    with conf_overrides({("network", "nft_table"): "bad name; flush ruleset"}), \
            pytest.raises(ValueError, match="not a valid nftables table"):
        nftables.table_name()


def nft_can_check():
    return os.geteuid() == 0 and shutil.which("nft", path="/usr/sbin:/sbin:/usr/bin")


@pytest.mark.skipif(not nft_can_check(), reason="nft -c needs root and nftables installed")
@pytest.mark.parametrize("port_security", [True, False])
def test_nft_accepts_the_generated_ruleset(port_security):
    v4, v6 = ni.subnet("10.0.0.0/24"), ni.subnet("fd00:1::/64", ipv6_address_mode="slaac")
    rules = [ni.SSH_IN, ni.ICMP_IN, ni.ALL_OUT, ni.ALL_OUT6,
             ni.rule(protocol="tcp", port_range_min=1000, port_range_max=2000,
                     prefixes=["10.0.0.0/24", "192.168.7.7/32"]),
             ni.rule(protocol="icmp", port_range_min=3, port_range_max=1),
             ni.rule(protocol="icmp", ethertype="IPv6", port_range_min=128),
             ni.rule(protocol="udp", ethertype="IPv6", prefixes=["fd00::/8"]),
             ni.rule("egress", protocol="sctp", port_range_min=9),
             ni.rule(protocol="gre"), ni.rule(protocol="50"),
             ni.rule(protocol="tcp", port_range_min=22, port_range_max=22,
                     remote_group_id="5e1f0c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b"),
             ni.rule(ethertype="IPv6", remote_group_id="5e1f0c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b"),
             ni.rule(remote_group_id="6f2a")]       # a group this host has no members of
    info = [ni.vif(["10.0.0.5", "fd00:1::5"], [v4, v6], rules=rules,
                   port_security=port_security,
                   floating_ips=[ni.floating("172.24.4.10", "10.0.0.5", "nlbr-ext",
                                             "172.24.4.0/24")]),
            ni.vif(["10.0.0.6"], [v4], rules=[]),
            # Another network (subnets never overlap: the database refuses it).
            ni.vif(["10.0.1.5"], [ni.subnet("10.0.1.0/24")], bridge="nlbr-other",
                   network_id="net-2")]
    script = nftables.ruleset(model.parse(info), {"nlbr-1a2b3c4d", "nlbr-other"},
                              table="nl_unit_check", members={
                                  "5e1f0c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b": [
                                      "10.0.0.6", "10.0.1.5", "fd00:1::5"]})
    result = subprocess.run(["nft", "-c", "-f", "-"], input=script, text=True,
                            capture_output=True, check=False)
    assert result.returncode == 0, result.stderr + script
    removal = subprocess.run(["nft", "-c", "-f", "-"], input=nftables.removal("nl_unit_check"),
                             text=True, capture_output=True, check=False)
    assert removal.returncode == 0, removal.stderr
