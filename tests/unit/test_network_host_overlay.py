"""The overlay and the provider uplink as text and argv
(nova_lite.network.host.overlay, uplink, model): VXLAN device names, groups,
the gateway MAC, the guests' MTU, the ip commands, the nft bridge-table drops
on VXLAN ports (accepted by ``nft -c`` where nft can run), the
segmentation_id of network_info."""
import ipaddress
import os
import shutil
import subprocess

import pytest

from nova_lite.network.host import model, nftables, overlay, uplink
from tests.fixtures import network_info as ni
from tests.fixtures.libvirtd import conf_overrides

SUBNET4 = ni.subnet("10.0.0.0/24", subnet_id="s4")
SUBNET6 = ni.subnet("fd00:1::/64", subnet_id="s6", ipv6_address_mode="slaac")


@pytest.fixture
def vxlan_conf():
    with conf_overrides({("network", "overlay"): "vxlan",
                         ("network", "overlay_interface"): "eth0",
                         ("network", "overlay_local_ip"): "192.168.77.1"}) as conf:
        yield conf


def test_defaults_keep_todays_single_host_behaviour():
    with conf_overrides({}):
        assert not overlay.enabled() and not uplink.enabled()


def test_device_name_and_group(vxlan_conf):
    assert overlay.device_name(16777215) == "nlvx-16777215"
    assert len(overlay.device_name(16777215)) <= 15
    assert overlay.group(5) == ipaddress.ip_address("239.1.0.5")
    assert overlay.group(65536 + 5) == ipaddress.ip_address("239.1.0.5")   # shared group
    assert overlay.group(300) == ipaddress.ip_address("239.1.1.44")
    with conf_overrides({("network", "vxlan_group_range"): "239.9.9.0/30"}):
        assert overlay.group(7) == ipaddress.ip_address("239.9.9.3")
    with conf_overrides({("network", "vxlan_group_range"): "10.0.0.0/8"}), \
            pytest.raises(overlay.OverlayError, match="not multicast"):
        overlay.group(7)


def test_gateway_mac_is_the_same_everywhere_and_never_a_ports():
    mac = overlay.gateway_mac("9b8c7d6e-0000-4000-8000-000000000001")
    assert mac == overlay.gateway_mac("9b8c7d6e-0000-4000-8000-000000000001")
    assert mac.startswith("fa:16:3f:") and len(mac) == 17
    assert mac != overlay.gateway_mac("9b8c7d6e-0000-4000-8000-000000000002")
    assert not int(mac[:2], 16) & 1                          # unicast


def test_guest_mtu_fits_the_underlay(vxlan_conf):
    assert overlay.guest_mtu(1500, 1500) == 1450
    assert overlay.guest_mtu(1400, 1500) == 1400
    assert overlay.guest_mtu(None, 9000) == 8950
    assert overlay.guest_mtu(9000, 9000) == 8950
    with conf_overrides({("network", "vxlan_group_range"): "ff05::100:0/112"}):
        assert overlay.guest_mtu(1500, 1500) == 1430


def test_vxlan_argv(vxlan_conf):
    assert overlay.vxlan_argv(4242, "192.168.77.1", 1450) == [
        "ip", "link", "add", "nlvx-4242", "mtu", 1450, "type", "vxlan", "id", 4242,
        "group", "239.1.16.146", "dev", "eth0", "local", "192.168.77.1",
        "dstport", 4789, "learning"]
    assert str(overlay.local_ip()) == "192.168.77.1"


def test_overlay_needs_an_underlay_interface():
    with conf_overrides({("network", "overlay"): "vxlan"}), \
            pytest.raises(overlay.OverlayError, match="overlay_interface"):
        overlay.vxlan_argv(5, "192.168.77.1")


def test_segment_rules_drop_gateway_ra_and_dhcp_both_ways():
    mac = "fa:16:3f:01:02:03"
    rules = overlay.segment_rules(mac, [ipaddress.ip_address("10.0.0.1"),
                                        ipaddress.ip_address("10.0.1.1"),
                                        ipaddress.ip_address("fd00:1::1")])
    assert rules == [
        "ether saddr fa:16:3f:01:02:03 drop",
        "ether daddr fa:16:3f:01:02:03 drop",
        "arp saddr ip { 10.0.0.1, 10.0.1.1 } drop",
        "arp daddr ip { 10.0.0.1, 10.0.1.1 } drop",
        "icmpv6 type { nd-router-solicit, nd-router-advert, nd-redirect } drop",
        "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } @th,64,128 "
        "{ 0xfd000001000000000000000000000001, 0xfe80000000000000f8163ffffe010203 } drop",
        "udp dport { 67, 68, 546, 547 } drop"]


def test_bridge_lines_hook_every_vxlan_port_in_and_out():
    segments = [{"device": "nlvx-7", "mac": "fa:16:3f:01:02:03",
                 "gateways": [ipaddress.ip_address("10.0.0.1")]}]
    text = "\n".join(overlay.bridge_lines(segments))
    assert '"nlvx-7" : jump overlay_7' in text
    assert "type filter hook output priority filter" in text
    assert "type filter hook forward priority filter" in text
    assert text.count("oifname vmap @overlay_ports") == 2
    assert overlay.bridge_lines([]) == []
    vifs = model.parse([ni.vif(["10.0.0.5"], [SUBNET4])])
    script = nftables.ruleset(vifs, {"nlbr-1a2b3c4d"}, table="nl_unit", segments=segments)
    assert "iifname vmap @overlay_ports" in script
    assert "overlay_ports" not in nftables.ruleset(vifs, {"nlbr-1a2b3c4d"}, table="nl_unit")


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("nft", path="/usr/sbin:/sbin:/usr/bin"),
                    reason="nft -c needs root and nftables installed")
def test_nft_accepts_the_ruleset_with_segments():
    vifs = model.parse([ni.vif(["10.0.0.5", "fd00:1::5"], [SUBNET4, SUBNET6],
                               segmentation_id=7)])
    segments = [{"device": "nlvx-7", "mac": "fa:16:3f:01:02:03",
                 "gateways": [ipaddress.ip_address("10.0.0.1"),
                              ipaddress.ip_address("fd00:1::1")]},
                {"device": "nlvx-16777215", "mac": "fa:16:3f:0a:0b:0c", "gateways": []}]
    script = nftables.ruleset(vifs, {"nlbr-1a2b3c4d"}, table="nl_unit_check",
                              segments=segments)
    result = subprocess.run(["nft", "-c", "-f", "-"], input=script, text=True,
                            capture_output=True, check=False)
    assert result.returncode == 0, result.stderr + script


def test_segmentation_id_is_validated():
    def parse(value, **kwargs):
        info = ni.vif(["10.0.0.5"], [SUBNET4], **kwargs)
        info["segmentation_id"] = value
        return model.parse([info])[0]
    assert parse(1).segmentation_id == 1
    assert parse(16777215).segmentation_id == 16777215
    assert parse(None).segmentation_id is None
    assert parse(7, external=True).external is True
    for bad in (0, 16777216, -1, "x", True, 1.5e9):
        with pytest.raises(model.InvalidNetworkInfo, match="segmentation_id"):
            parse(bad)


def test_uplink_routes_keep_the_hosts_default_route():
    with conf_overrides({("network", "external_interface"): "eth1",
                         ("network", "external_route_table"): 4789}):
        argvs = uplink.route_argvs("nlbr-ext", {ipaddress.ip_network("203.0.113.0/24")},
                                   ipaddress.ip_address("203.0.113.1"))
    assert argvs == [
        ["ip", "route", "replace", "203.0.113.0/24", "dev", "nlbr-ext", "proto", "static",
         "scope", "link"],
        ["ip", "route", "replace", "203.0.113.0/24", "dev", "nlbr-ext", "proto", "static",
         "scope", "link", "table", 4789],
        ["ip", "route", "replace", "default", "via", "203.0.113.1", "dev", "nlbr-ext",
         "proto", "static", "table", 4789]]
