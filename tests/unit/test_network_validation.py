"""The pure checks behind the Networking API: security group rules (Neutron's
rules), subnet gateways, allocation pools, DNS, host routes and IPv6 modes,
and Nova's legacy rule requests."""
import ipaddress

import pytest

from nova_lite import exception
from nova_lite.api.compute.security_group_rules import neutron_rule
from nova_lite.network import exceptions, networks, security_groups
from nova_lite.network.security_groups import SecurityGroupRuleInvalid, normalize_rule


def rule(**spec):
    return normalize_rule({"direction": "ingress", **spec})


def test_a_plain_rule_gets_defaults():
    assert rule() == {"direction": "ingress", "ethertype": "IPv4", "protocol": None,
                      "port_range_min": None, "port_range_max": None,
                      "remote_ip_prefix": None, "remote_group_id": None,
                      "description": ""}


@pytest.mark.parametrize("given,stored", [
    ("tcp", "tcp"), ("TCP", "tcp"), ("6", "tcp"), (17, "udp"), ("1", "icmp"),
    ("58", "ipv6-icmp"), ("icmpv6", "ipv6-icmp"), ("47", "47"), ("gre", "gre"),
    ("any", None), (None, None), ("0", "0"),
])
def test_protocols_are_normalised(given, stored):
    ethertype = "IPv6" if stored == "ipv6-icmp" else "IPv4"
    assert rule(protocol=given, ethertype=ethertype)["protocol"] == stored


def test_icmp_on_ipv6_means_ipv6_icmp():
    assert rule(protocol="icmp", ethertype="ipv6")["protocol"] == "ipv6-icmp"


@pytest.mark.parametrize("spec", [
    {"protocol": "tcp", "port_range_min": 22, "port_range_max": 22},
    {"protocol": "udp", "port_range_min": "1", "port_range_max": "65535"},
    {"protocol": "icmp", "port_range_min": 8, "port_range_max": 0},
    {"protocol": "icmp", "port_range_min": 0},
    {"protocol": "ipv6-icmp", "ethertype": "IPv6", "port_range_min": 255},
    {"protocol": "sctp", "port_range_min": 5, "port_range_max": 6},
    {"remote_ip_prefix": "10.1.2.3/8"},
    {"remote_group_id": "g"},
])
def test_valid_rules(spec):
    rule(**spec)


@pytest.mark.parametrize("spec,words", [
    ({"direction": "both"}, "direction"),
    ({"ethertype": "IPX"}, "ethertype"),
    ({"protocol": "tcp", "port_range_min": 23, "port_range_max": 22}, "<="),
    ({"protocol": "tcp", "port_range_max": 22}, "<="),
    ({"protocol": "tcp", "port_range_min": 0, "port_range_max": 22}, "port 0"),
    ({"protocol": "tcp", "port_range_min": 1, "port_range_max": 65536}, "port 65536"),
    ({"protocol": "tcp", "port_range_min": "x", "port_range_max": 2}, "not an integer"),
    ({"protocol": "tcp", "port_range_min": True, "port_range_max": 2}, "Invalid value"),
    ({"protocol": "icmp", "port_range_min": 256}, "ICMP type"),
    ({"protocol": "icmp", "port_range_min": 1, "port_range_max": 256}, "ICMP code"),
    ({"protocol": "icmp", "port_range_max": 0}, "missing"),
    ({"protocol": "vrrp", "port_range_min": 1, "port_range_max": 1}, "only supported"),
    ({"port_range_min": 1, "port_range_max": 1}, "Must also specify protocol"),
    ({"protocol": "300"}, "not supported"),
    ({"protocol": "ipv6-frag"}, "not supported with protocol"),
    ({"remote_ip_prefix": "::/0"}, "Conflicting value ethertype IPv4"),
    ({"remote_ip_prefix": "nonsense"}, "not a valid IP prefix"),
    ({"remote_ip_prefix": "0.0.0.0/0", "remote_group_id": "g"}, "Only remote_ip_prefix"),
])
def test_invalid_rules(spec, words):
    spec = {"direction": "ingress", **spec}
    with pytest.raises(SecurityGroupRuleInvalid) as caught:
        normalize_rule(spec)
    assert words in caught.value.message
    assert caught.value.code == 400


def test_remote_prefix_is_normalised():
    assert rule(remote_ip_prefix="10.1.2.3/8")["remote_ip_prefix"] == "10.0.0.0/8"
    assert rule(ethertype="IPv6", remote_ip_prefix="fd00::5/64")["remote_ip_prefix"] == \
        "fd00::/64"


def test_duplicates_treat_an_everything_prefix_as_none():
    one = rule(protocol="tcp", port_range_min=22, port_range_max=22)
    assert security_groups.same_rule(one, dict(one, remote_ip_prefix="0.0.0.0/0"))
    assert not security_groups.same_rule(one, dict(one, remote_ip_prefix="10.0.0.0/8"))
    assert not security_groups.same_rule(one, dict(one, port_range_max=23))
    assert not security_groups.same_rule(one, dict(one, direction="egress"))


NET = ipaddress.ip_network("10.0.0.0/24")


def test_gateways():
    assert networks.check_gateway(NET, "10.0.0.254") == "10.0.0.254"
    assert networks.check_gateway(NET, None) is None
    for bad in ("10.0.1.1", "10.0.0.0", "10.0.0.255", "fd00::1", "x"):
        with pytest.raises(exception.Invalid):
            networks.check_gateway(NET, bad)


def test_pools_are_sorted_and_checked():
    pools = [{"start": "10.0.0.100", "end": "10.0.0.110"},
             {"start": "10.0.0.10", "end": "10.0.0.20"}]
    assert networks.check_pools(NET, pools, "10.0.0.1") == sorted(
        pools, key=lambda p: ipaddress.ip_address(p["start"]))
    cases = [
        ([{"start": "10.0.0.0", "end": "10.0.0.5"}], "outside"),
        ([{"start": "10.0.0.250", "end": "10.0.0.255"}], "outside"),
        ([{"start": "10.0.0.9", "end": "10.0.0.5"}], "start is after end"),
        ([{"start": "10.0.0.5", "end": "10.0.0.9"},
          {"start": "10.0.0.9", "end": "10.0.0.12"}], "overlaps"),
        ([{"start": "fd00::1", "end": "fd00::2"}], "not IPv4"),
        ([{"start": "10.0.0.5"}], "a pool is"),
    ]
    for bad, words in cases:
        with pytest.raises(networks.InvalidAllocationPool) as caught:
            networks.check_pools(NET, bad, "10.0.0.1")
        assert words in caught.value.message
    with pytest.raises(networks.GatewayConflictWithAllocationPools):
        networks.check_pools(NET, [{"start": "10.0.0.1", "end": "10.0.0.9"}], "10.0.0.5")


def test_dns_and_host_routes():
    assert networks.check_dns(["192.0.2.1", "2001:db8::1"]) == ["192.0.2.1",
                                                               "2001:db8::1"]
    for bad in (["192.0.2.1"] * 2, ["host.example"], [f"192.0.2.{i}" for i in range(6)]):
        with pytest.raises(exception.Invalid):
            networks.check_dns(bad)
    route = {"destination": "192.0.2.0/24", "nexthop": "10.0.0.2"}
    assert networks.check_host_routes([route], NET) == [route]
    for bad in ([route, route], [{"destination": "192.0.2.1/24", "nexthop": "10.0.0.2"}],
                [{"destination": "2001:db8::/64", "nexthop": "10.0.0.2"}], [{"x": 1}]):
        with pytest.raises(exception.Invalid):
            networks.check_host_routes(bad, NET)


def test_ipv6_modes():
    v6 = ipaddress.ip_network("fd00::/64")
    networks.check_ipv6_modes(v6, "slaac", "slaac")
    networks.check_ipv6_modes(v6, None, "dhcpv6-stateless")
    networks.check_ipv6_modes(NET, None, None)
    for net, ra, address in ((NET, "slaac", None), (v6, "slaac", "dhcpv6-stateless"),
                             (v6, None, "dhcpv6-stateful"), (v6, "bogus", None),
                             (ipaddress.ip_network("fd00::/56"), None, None)):
        with pytest.raises(exception.Invalid):
            networks.check_ipv6_modes(net, ra, address)


def test_cidr_errors_say_why():
    with pytest.raises(exceptions.InvalidCidr) as caught:
        networks.ipam.parse_cidr("10.0.0.1/24")
    assert "host bits set" in caught.value.message


def test_owner_project():
    class Ctx:
        project_id, is_admin = "p1", False
    assert networks.owner_project(Ctx, None) == "p1"
    assert networks.owner_project(Ctx, "p1") == "p1"
    with pytest.raises(exception.Invalid):
        networks.owner_project(Ctx, "p2")
    Ctx.is_admin = True
    assert networks.owner_project(Ctx, "p2") == "p2"


# -- Nova's os-security-group-rules ------------------------------------------------------
def test_nova_rules_become_neutron_rules():
    assert neutron_rule({"ip_protocol": "TCP", "from_port": "22", "to_port": 22,
                         "cidr": "10.0.0.0/8"}) == {
        "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
        "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "10.0.0.0/8"}
    assert neutron_rule({"ip_protocol": "icmp", "from_port": -1, "to_port": -1,
                         "group_id": "g"}) == {
        "direction": "ingress", "ethertype": "IPv4", "protocol": "icmp",
        "port_range_min": None, "port_range_max": None, "remote_group_id": "g"}
    assert neutron_rule({"ip_protocol": "icmp", "from_port": 8, "to_port": -1,
                         "cidr": "::/0"})["protocol"] == "ipv6-icmp"
    assert neutron_rule({})["remote_ip_prefix"] == "0.0.0.0/0"


@pytest.mark.parametrize("spec", [
    {"ip_protocol": "tcp", "from_port": 0, "to_port": 10},
    {"ip_protocol": "tcp", "from_port": 10, "to_port": 9},
    {"ip_protocol": "tcp", "from_port": 10},
    {"ip_protocol": "icmp", "from_port": -1, "to_port": 0},
    {"ip_protocol": "icmp", "from_port": 256, "to_port": 0},
    {"ip_protocol": "foo", "from_port": 1, "to_port": 1},
    {"from_port": 1, "to_port": 1},
    {"cidr": "10.0.0.0/8", "group_id": "g"},
    {"cidr": "bad"},
])
def test_bad_nova_rules(spec):
    with pytest.raises(exception.Invalid):
        neutron_rule(spec)
