"""dnsmasq's command line and hosts file (nova_lite.network.host.dhcp), and
network_info checking (model)."""
import os

import pytest

from nova_lite.network.host import dhcp, model
from tests.fixtures import network_info as ni
from tests.fixtures.libvirtd import conf_overrides

V4 = ni.subnet("10.0.0.0/24", subnet_id="s4", dns=["8.8.8.8", "2001:4860::8888"])
SLAAC = ni.subnet("fd00:1::/64", subnet_id="s6", ipv6_address_mode="slaac")
STATEFUL = ni.subnet("fd00:2::/64", subnet_id="s7", ipv6_address_mode="dhcpv6-stateful",
                     dns=["fd00:2::53"])


@pytest.fixture
def conf(tmp_path):
    with conf_overrides({(None, "state_path"): str(tmp_path),
                         ("network", "dhcp_lease_time"): 3600,
                         ("network", "dhcp_domain"): "example.test"}) as c:
        yield c


def subnets(*entries):
    return model.parse([ni.vif([], list(entries))])[0].subnets


def test_argv_binds_only_to_the_bridge_serves_static_leases_and_no_dns(conf, tmp_path):
    args = dhcp.argv("net-1", "nlbr-1", subnets(V4), mtu=1450)
    directory = tmp_path / "network" / "net-1"
    assert args[0] == "dnsmasq"
    for expected in ("--conf-file=/dev/null", "--no-hosts", "--no-resolv", "--port=0",
                     "--bind-interfaces", "--interface=nlbr-1", "--except-interface=lo",
                     "--user=root", f"--pid-file={directory}/dnsmasq.pid",
                     f"--dhcp-hostsfile={directory}/hosts",
                     f"--dhcp-leasefile={directory}/leases", "--domain=example.test",
                     "--dhcp-range=set:s0,10.0.0.0,static,255.255.255.0,3600s",
                     "--dhcp-option=tag:s0,option:router,10.0.0.1",
                     "--dhcp-option=tag:s0,option:dns-server,8.8.8.8",
                     "--dhcp-option=tag:s0,option:mtu,1450"):
        assert expected in args
    assert "--enable-ra" not in args


def test_a_subnet_without_gateway_offers_no_router(conf):
    args = dhcp.argv("net-1", "nlbr-1", subnets(ni.subnet("10.0.0.0/24", gateway=None)))
    assert "--dhcp-option=tag:s0,option:router" in args


def test_ipv6_modes(conf):
    args = dhcp.argv("net-1", "nlbr-1", subnets(V4, SLAAC, STATEFUL))
    assert "--dhcp-range=set:s1,fd00:1::,ra-only,64,3600s" in args
    assert "--dhcp-range=set:s2,fd00:2::,static,64,3600s" in args
    assert "--dhcp-option=tag:s2,option6:dns-server,[fd00:2::53]" in args
    assert "--enable-ra" in args
    stateless = ni.subnet("fd00:3::/64", ipv6_address_mode="dhcpv6-stateless")
    assert "--dhcp-range=set:s0,fd00:3::,ra-stateless,64,3600s" in dhcp.argv(
        "n", "b", subnets(stateless))


def test_subnets_served():
    off = ni.subnet("10.1.0.0/24", enable_dhcp=False)
    unmanaged6 = ni.subnet("fd00:9::/64")
    assert [str(s.cidr) for s in dhcp.dhcp_subnets(subnets(off, unmanaged6, SLAAC, V4))] == \
        ["10.0.0.0/24", "fd00:1::/64"]


def test_hosts_lines_one_per_dhcp_address():
    one = ni.vif(["10.0.0.5", "fd00:1::5", "fd00:2::5"], [V4, SLAAC, STATEFUL],
                 mac="fa:16:3e:00:00:02")
    two = ni.vif(["10.0.0.6"], [V4], mac="fa:16:3e:00:00:01")
    vifs = model.parse([one, two])
    assert dhcp.host_lines(vifs, vifs[0].subnets) == [
        "fa:16:3e:00:00:01,10.0.0.6,host-10-0-0-6",
        "fa:16:3e:00:00:02,10.0.0.5,host-10-0-0-5",
        "fa:16:3e:00:00:02,[fd00:2::5],host-fd00-2--5",     # SLAAC needs no entry
    ]


def test_no_hosts_for_a_subnet_without_dhcp():
    off = ni.subnet("10.1.0.0/24", enable_dhcp=False)
    vifs = model.parse([ni.vif(["10.1.0.5"], [off])])
    assert dhcp.host_lines(vifs, vifs[0].subnets) == []


def test_leases_of_removed_hosts_are_dropped(conf, tmp_path):
    directory = tmp_path / "network" / "net-1"
    directory.mkdir(parents=True)
    (directory / "leases").write_text(
        "1700000000 fa:16:3e:00:00:01 10.0.0.5 host-10-0-0-5 *\n"
        "1700000000 fa:16:3e:00:00:02 10.0.0.6 host-10-0-0-6 *\n"
        "1700000000 fa:16:3e:00:00:09 10.0.0.7 host-10-0-0-7 *\n"      # 10.0.0.7: new MAC
        "duid 00:01:00:01:2c:00:00:00:aa:bb:cc:dd:ee:ff\n"
        "1700000000 1234 fd00:2::5 host-fd00-2--5 00:03\n"
        "1700000000 1234 fd00:2::9 host-fd00-2--9 00:03\n")
    dhcp._prune_leases("net-1", ["fa:16:3e:00:00:01,10.0.0.5,host-10-0-0-5",
                                 "fa:16:3e:00:00:03,10.0.0.7,host-10-0-0-7",
                                 "fa:16:3e:00:00:01,[fd00:2::5],host-fd00-2--5"])
    assert (directory / "leases").read_text().splitlines() == [
        "1700000000 fa:16:3e:00:00:01 10.0.0.5 host-10-0-0-5 *",
        "duid 00:01:00:01:2c:00:00:00:aa:bb:cc:dd:ee:ff",
        "1700000000 1234 fd00:2::5 host-fd00-2--5 00:03"]


def test_a_pid_file_naming_another_process_is_not_ours(conf, tmp_path):
    directory = tmp_path / "network" / "net-1"
    directory.mkdir(parents=True)
    (directory / "dnsmasq.pid").write_text(f"{os.getpid()}\n")     # pytest, not dnsmasq
    assert dhcp.running("net-1") == (None, None)
    (directory / "dnsmasq.pid").write_text("not a pid\n")
    assert dhcp.running("net-1") == (None, None)


# -- model ------------------------------------------------------------------------
@pytest.mark.parametrize("change,message", [
    ({"bridge": "br; rm -rf /"}, "not a usable interface name"),
    ({"bridge": "a-very-long-bridge-name"}, "not a usable interface name"),
    ({"tap": '"tap"'}, "not a usable interface name"),
    ({"mac": "fa:16:3e:00:00"}, "not a MAC address"),
    ({"mac": "01:00:5e:00:00:01"}, "multicast"),
    ({"port_id": "../etc"}, "not a valid id"),
    ({"mtu": 10}, "not within"),
    ({"fixed_ips": [{"address": "10.0.0.999"}]}, "not an IP address"),
    ({"floating_ips": [{"address": "fd00::1", "fixed_address": "10.0.0.5",
                        "bridge": "nlbr-x", "cidr": "172.24.4.0/24"}]}, "not an IPv4"),
    ({"security_group_rules": [{"direction": "sideways"}]}, "direction"),
    ({"security_group_rules": [{"direction": "ingress", "port_range_min": 70000}]},
     "not within"),
])
def test_bad_network_info_is_refused(change, message):
    entry = dict(ni.vif(["10.0.0.5"], [V4]), **change)
    with pytest.raises(model.InvalidNetworkInfo, match=message):
        model.parse([entry])


def test_a_floating_ip_without_fixed_address_is_left_out():
    entry = dict(ni.vif(["10.0.0.5"], [V4]), floating_ips=[
        {"address": "172.24.4.9", "fixed_address": "None", "bridge": "nlbr-x",
         "cidr": "172.24.4.0/24", "gateway": None}])
    assert model.parse([entry])[0].floating_ips == ()


def test_two_vifs_may_not_share_a_tap():
    entry = ni.vif(["10.0.0.5"], [V4])
    with pytest.raises(model.InvalidNetworkInfo, match="share a tap"):
        model.parse([entry, dict(entry, port_id="other")])


def test_missing_or_empty_network_info_is_no_vifs():
    assert model.parse(None) == () and model.parse([]) == ()
