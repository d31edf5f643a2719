"""Guests of one network on different hosts, against the real kernel, no VM
(tests/fixtures/overlay_lab.py): three "hosts" (network namespaces on an
underlay switch with IGMP snooping, and on a provider segment), each running
the host data plane with [network] overlay = vxlan and external_interface =
eth1 in its own namespace, state_path and CONF; guests are namespaces on
veths named like taps.

Proves: only hosts with a guest on the network join its multicast group;
DHCP is answered by the guest's own host only (its dnsmasq log); fixed IPv4
addresses reach across hosts; the receiver's security group applies on the
receiver's host and the sender's egress on the sender's host (stateful
replies on both); a spoofed source never reaches the other host; the gateway
answers locally on each host and its MAC never crosses the overlay (no host
learns it behind its VXLAN port); a floating IP of a guest on host B is
reached from outside over the provider segment, only host B answers ARP for
it, and it follows the guest to host A (gratuitous ARP when iputils arping
is installed).

Needs root, iproute2, nftables, dnsmasq (dnsmasq-base), busybox, ping and a
kernel with VXLAN. The tests run in file order on module-scoped state.
"""
import os
import random
import re
import shutil
import tempfile
import time
import uuid

import pytest

from tests.fixtures import network_info as ni
from tests.fixtures import overlay_lab as ol

pytestmark = pytest.mark.timeout(300)
NET = "10.40.0.0/24"
GATEWAY = "10.40.0.1"
BRIDGE, EXT_BRIDGE = "nlbr-ovl00001", "nlbr-ovlext01"
NETWORK_ID, EXT_NETWORK_ID = "net-overlay", "net-external"
FLOATING = "203.0.113.10"


@pytest.fixture(scope="module")
def lab():
    if os.geteuid() != 0:
        pytest.skip("the overlay needs root (namespaces, bridges, VXLAN, nftables)")
    missing = ol.missing_tools()
    if missing:
        pytest.skip("missing: " + ", ".join(missing))
    why = ol.vxlan_supported()
    if why:
        pytest.skip(f"this kernel makes no VXLAN device ({why}): CONFIG_VXLAN")
    workdir = tempfile.mkdtemp(prefix="nl-overlay-")
    lab = ol.Lab(workdir, hosts=("a", "b", "c"))
    try:
        yield lab
    finally:
        lab.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def net(lab):
    """Guest a1 on host a, b1 on host b, one network (VNI random); host c
    has no guest on it."""
    vni = random.randrange(1000, 1 << 24)
    subnet = ni.subnet(NET, subnet_id="s4")
    guests = {}
    for name, host, address in (("a1", "a", "10.40.0.5"), ("b1", "b", "10.40.0.6")):
        port_id = str(uuid.uuid4())
        mac = ni.random_mac()

        def info(rules=(ni.SSH_IN, ni.ALL_OUT), floating_ips=(), address=address,
                 port_id=port_id, mac=mac):
            return [ni.vif([address], [subnet], bridge=BRIDGE, network_id=NETWORK_ID,
                           mac=mac, port_id=port_id, rules=rules, segmentation_id=vni,
                           floating_ips=floating_ips)]
        guests[name] = {"uuid": str(uuid.uuid4()), "host": lab.hosts[host],
                        "address": address, "info": info, "mac": mac}
        lab.hosts[host].call("plug", guests[name]["uuid"], info())
        guests[name]["netns"] = lab.guest(name, lab.hosts[host], info()[0], mtu=1450)
    return {"vni": vni, "guests": guests, "device": f"nlvx-{vni}"}


def refresh(guest, rules=(ni.SSH_IN, ni.ALL_OUT), floating_ips=()):
    guest["host"].call("refresh", {guest["uuid"]: guest["info"](rules, floating_ips)})


def fdb(host, device):
    """Lines of the host's bridge fdb for ``device``."""
    return host.sh("bridge", "fdb", "show", "dev", device).stdout.lower().splitlines()


# -- the segment ----------------------------------------------------------------------
def test_only_hosts_with_a_guest_on_the_network_join_its_group(lab, net):
    from nova_lite.network.host import overlay
    group = str(overlay.group_range().network_address + net["vni"] % 65536)
    for name in ("a", "b"):
        details = lab.hosts[name].sh("ip", "-d", "link", "show", net["device"]).stdout
        assert f"vxlan id {net['vni']} group {group} local {lab.hosts[name].underlay_ip} " \
               f"dev eth0" in details
        assert f"master {BRIDGE}" in details
        assert group in lab.hosts[name].sh("ip", "maddr", "show", "dev", "eth0").stdout
    assert net["device"] not in lab.hosts["c"].sh("ip", "link").stdout
    assert group not in lab.hosts["c"].sh("ip", "maddr", "show", "dev", "eth0").stdout
    # The underlay switch forwards the group only to the ports of hosts a and b.
    mdb = ol.sh("bridge", "-n", lab.switch, "mdb", "show").stdout
    members = {line.split()[3] for line in mdb.splitlines() if f"grp {group}" in line}
    assert members == {"0-a", "0-b"}
    # Every host's bridge has the network's gateway MAC; guests get MTU 1450.
    for name in ("a", "b"):
        assert lab.hosts[name].sh("cat", f"/sys/class/net/{BRIDGE}/address").stdout.strip() \
            == overlay.gateway_mac(NETWORK_ID)
        assert lab.hosts[name].sh("cat", f"/sys/class/net/{BRIDGE}/mtu").stdout.strip() \
            == "1450"


def test_dhcp_is_answered_by_the_guests_own_host_only(lab, net):
    guests = net["guests"]
    for name in ("a1", "b1"):
        assert lab.dhcp(guests[name]["netns"]) == guests[name]["address"]
        mtu = ol.sh("ip", "netns", "exec", guests[name]["netns"], "cat",
                    "/sys/class/net/eth0/mtu").stdout.strip()
        assert mtu == "1450"                                    # DHCP option 26
    a_log = lab.hosts["a"].dnsmasq_log(NETWORK_ID)
    b_log = lab.hosts["b"].dnsmasq_log(NETWORK_ID)
    assert f"DHCPACK({BRIDGE}) {guests['a1']['address']} {guests['a1']['mac']}" in a_log
    assert f"DHCPACK({BRIDGE}) {guests['b1']['address']} {guests['b1']['mac']}" in b_log
    # Neither dnsmasq ever saw the other host's guest (not even to refuse it).
    assert guests["b1"]["mac"] not in a_log
    assert guests["a1"]["mac"] not in b_log


# -- security groups across hosts -----------------------------------------------------
def test_cross_host_ping_is_blocked_without_an_icmp_rule_and_allowed_after_one(lab, net):
    a1, b1 = net["guests"]["a1"], net["guests"]["b1"]
    assert ol.blocked(b1["address"], a1["netns"])
    assert ol.blocked(a1["address"], b1["netns"])
    refresh(b1, [ni.SSH_IN, ni.ICMP_IN, ni.ALL_OUT])        # b1's ingress, on host b
    assert ol.pings_soon(b1["address"], a1["netns"])
    assert ol.blocked(a1["address"], b1["netns"])           # a1's ingress, on host a
    # Large frames cross too (1450 - 28 bytes of ICMP/IP, don't fragment).
    assert ol.pings(b1["address"], a1["netns"], size=1422)


def test_the_senders_egress_applies_on_the_senders_host(lab, net):
    a1, b1 = net["guests"]["a1"], net["guests"]["b1"]
    refresh(a1, [ni.SSH_IN])                                # no egress rule at all
    assert ol.blocked(b1["address"], a1["netns"])
    refresh(a1)
    assert ol.pings_soon(b1["address"], a1["netns"])


def test_a_spoofed_source_never_reaches_the_other_host(lab, net):
    a1, b1 = net["guests"]["a1"], net["guests"]["b1"]
    spoofed = "10.40.0.77"
    # b1 counts, at its own interface, every IPv4 packet and ARP from the
    # spoofed address (whatever else it receives meanwhile is not counted).
    ol.sh("ip", "netns", "exec", b1["netns"], "nft", "-f", "-", input=f"""
        table netdev spy {{
            chain ingress {{
                type filter hook ingress device eth0 priority -500;
                ip saddr {spoofed} counter
                arp saddr ip {spoofed} counter
            }}
        }}""")
    ol.sh("ip", "-n", a1["netns"], "addr", "add", f"{spoofed}/24", "dev", "eth0")
    try:
        assert not ol.sh("ip", "netns", "exec", a1["netns"], "ping", "-n", "-c", "3",
                         "-i", "0.2", "-W", "1", "-I", spoofed, b1["address"],
                         check=False).returncode == 0
        # Host a dropped it at a1's tap: b1 received none of the echo requests
        # (nor ARP from the spoofed address).
        counted = ol.sh("ip", "netns", "exec", b1["netns"], "nft", "list", "table", "netdev",
                        "spy").stdout
        assert re.findall(r"counter packets (\d+)", counted) == ["0", "0"], counted
        assert ol.pings(b1["address"], a1["netns"])
    finally:
        ol.sh("ip", "-n", a1["netns"], "addr", "del", f"{spoofed}/24", "dev", "eth0")
        ol.sh("ip", "netns", "exec", b1["netns"], "nft", "delete", "table", "netdev", "spy",
              check=False)


# -- the distributed gateway ----------------------------------------------------------
def test_the_gateway_answers_locally_and_its_mac_never_crosses(lab, net):
    from nova_lite.network.host import overlay
    mac = overlay.gateway_mac(NETWORK_ID)
    for name in ("a1", "b1"):
        guest = net["guests"][name]
        ol.sh("ip", "-n", guest["netns"], "neigh", "flush", "dev", "eth0")
        assert ol.pings(GATEWAY, guest["netns"])
        neigh = ol.sh("ip", "-n", guest["netns"], "neigh", "show", GATEWAY).stdout
        assert mac in neigh
    # Each host answered its own guest: the other never learned the gateway MAC
    # behind its VXLAN port (neither in the bridge nor in the VXLAN device).
    for name in ("a", "b"):
        lines = fdb(lab.hosts[name], net["device"])
        assert not [line for line in lines if line.startswith(mac)], lines
        bridge_lines = lab.hosts[name].sh("bridge", "fdb", "show", "br", BRIDGE).stdout
        assert f"{mac} dev {BRIDGE} master {BRIDGE} permanent" in bridge_lines
    # The guests' MACs, though, are learned across (known unicast is not flooded).
    assert [line for line in fdb(lab.hosts["a"], net["device"])
            if line.startswith(net["guests"]["b1"]["mac"]) and "dst 192.168.77.2" in line]


# -- floating IPs on the provider uplink ----------------------------------------------
def _floating(fixed):
    fip = ni.floating(FLOATING, fixed, EXT_BRIDGE, ol.EXTERNAL)
    fip["network_id"] = EXT_NETWORK_ID
    return fip


def _outside_mac(lab, address):
    return ol.sh("ip", "-n", lab.outside, "neigh", "show", address).stdout.lower()


def _eth1_mac(host):
    return host.sh("cat", "/sys/class/net/eth1/address").stdout.strip().lower()


def test_a_floating_ip_of_a_guest_on_host_b_is_reached_from_outside(lab, net):
    b1, host_b = net["guests"]["b1"], lab.hosts["b"]
    rules = [ni.SSH_IN, ni.ICMP_IN, ni.ALL_OUT]
    refresh(b1, rules, [_floating(b1["address"])])
    addresses = host_b.sh("ip", "-4", "-o", "addr", "show", "dev", EXT_BRIDGE).stdout
    assert f"{FLOATING}/32" in addresses
    assert f"{ol.EXTERNAL_GATEWAY}/" not in addresses             # the router's, not ours
    assert f"master {EXT_BRIDGE}" in host_b.sh("ip", "link", "show", "eth1").stdout
    assert ol.pings_soon(FLOATING, lab.outside)
    assert _eth1_mac(host_b) in _outside_mac(lab, FLOATING)      # host b answered ARP
    assert FLOATING not in lab.hosts["a"].sh("ip", "-4", "addr").stdout
    # b1's replies and its own traffic leave through the uplink, SNATed to its
    # floating IP, even beyond the external subnet (the rule's table T) while
    # the host's main table gets no default route.
    assert ol.pings(ol.BEYOND, b1["netns"])
    assert "default" not in host_b.sh("ip", "route", "show").stdout
    assert f"from {b1['address']} lookup" in host_b.sh("ip", "rule", "show").stdout


def test_the_floating_ip_follows_its_guest_to_another_host(lab, net):
    a1, b1 = net["guests"]["a1"], net["guests"]["b1"]
    rules = [ni.SSH_IN, ni.ICMP_IN, ni.ALL_OUT]
    refresh(b1, rules)                                           # disassociated on b
    refresh(a1, rules, [_floating(a1["address"])])               # associated on a
    assert FLOATING not in lab.hosts["b"].sh("ip", "-4", "addr").stdout
    assert f"from {b1['address']} lookup" not in lab.hosts["b"].sh("ip", "rule").stdout
    if ol.which("arping"):
        # The gratuitous ARP updated the outside's cache at once.
        assert _eth1_mac(lab.hosts["a"]) in _outside_mac(lab, FLOATING)
    else:
        ol.sh("ip", "-n", lab.outside, "neigh", "flush", "dev", "eth0")
    deadline = time.monotonic() + 10
    while not ol.pings(FLOATING, lab.outside):
        assert time.monotonic() < deadline, "the moved floating IP does not answer"
    assert _eth1_mac(lab.hosts["a"]) in _outside_mac(lab, FLOATING)
    assert ol.pings(ol.BEYOND, a1["netns"])


def test_a_host_whose_last_guest_of_the_network_goes_leaves_the_group(lab, net):
    b1, host_b = net["guests"]["b1"], lab.hosts["b"]
    host_b.call("unplug", b1["uuid"])
    assert net["device"] not in host_b.sh("ip", "link").stdout
    assert "group" not in host_b.sh("ip", "-d", "link", "show", "type", "vxlan").stdout
