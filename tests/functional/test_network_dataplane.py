"""The compute host's network data plane against the real kernel, without VMs:
each "guest" is a network namespace whose eth0 is a veth pair with the host
end named like the port's tap and enslaved to the network's bridge, exactly
where libvirt would put the guest's tap.

Proves DHCP (busybox udhcpc in the namespace gets its allocated address from
our dnsmasq), IPv6 router advertisements (SLAAC), security groups (refresh
adds and removes rules; TCP port rules), anti-spoofing, the host's own
services kept from guests, floating IPs (DNAT from a client namespace on the
external bridge and from the host, SNAT back), ports without port security,
unplug, and restore after the host lost everything.

Needs root, iproute2, nftables, dnsmasq (dnsmasq-base), busybox and ping. Uses
only its own names (nlt<random>*), subnets 10.251.x.0/24, 172.31.x.0/24 and a
random IPv6 ULA /64, and its own nft table nl_test_<random>; removes all of it
(namespaces, links, tables, dnsmasq by PID) even when a test fails.

The tests run in file order on module-scoped state.
"""
import ipaddress
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid

import pytest

from tests.fixtures import network_info as ni, udhcpc
from tests.fixtures.dataplane import (
    TOOLS,
    blocked,
    free_octet,
    pings,
    pings_soon,
    sh,
    which,
)
from tests.fixtures.libvirtd import conf_overrides
from tests.fixtures.waiting import wait_for

pytestmark = pytest.mark.timeout(300)


def tcp_open(address, port, netns=None, timeout=2):
    code = (f"import socket,sys; socket.create_connection(({address!r}, {port}), "
            f"timeout={timeout}).recv(2); sys.exit(0)")
    argv = [sys.executable, "-c", code]
    if netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    return sh(*argv, check=False, timeout=timeout + 10).returncode == 0


class Env:
    """Names, addresses and what to clean up."""

    def __init__(self, state_path):
        sfx = uuid.uuid4().hex[:6]
        self.state_path = state_path
        self.table = f"nl_test_{sfx}"
        self.bridge, self.ext_bridge = f"nlt{sfx}i", f"nlt{sfx}e"
        self.prefix = f"nlt{sfx}"
        x, y = free_octet("10.251"), free_octet("172.31")
        self.net4 = ipaddress.ip_network(f"10.251.{x}.0/24")
        self.ext = ipaddress.ip_network(f"172.31.{y}.0/24")
        r = random.getrandbits(40)
        self.net6 = ipaddress.ip_network(f"fd{r >> 32:02x}:{(r >> 16) & 0xffff:x}:"
                                         f"{r & 0xffff:x}::/64")
        self.gateway4 = str(self.net4.network_address + 1)
        self.gateway6 = str(self.net6.network_address + 1)
        self.floating = str(self.ext.network_address + 10)
        self.client = str(self.ext.network_address + 50)
        self.netns, self.links, self.processes = [], [self.bridge, self.ext_bridge], []
        self.script = udhcpc.write_script(os.path.join(state_path, "udhcpc.script"))

    def attach(self, name, vif, bridge=None):
        """A namespace whose eth0 (MAC of the vif) is plugged where the vif's tap goes."""
        netns = f"{self.prefix}{name}"
        sh("ip", "netns", "add", netns)
        self.netns.append(netns)
        tap = vif["tap"] if vif else f"{self.prefix}{name}"
        sh("ip", "link", "add", tap, "type", "veth", "peer", "name", "eth0", "netns", netns)
        self.links.append(tap)
        if vif:
            sh("ip", "-n", netns, "link", "set", "eth0", "address", vif["mac"])
        sh("ip", "link", "set", tap, "master", bridge or vif["bridge"], "up")
        sh("ip", "-n", netns, "link", "set", "lo", "up")
        sh("ip", "-n", netns, "link", "set", "eth0", "up")
        return netns

    def dhcp(self, netns):
        """Run udhcpc in ``netns``; the IPv4 address eth0 then has (or None)."""
        sh("ip", "netns", "exec", netns, "busybox", "udhcpc", "-i", "eth0", "-n", "-q",
           "-t", "5", "-T", "1", "-s", self.script, check=False, timeout=30)
        return ipv4_of(netns)

    def listen(self, netns, *ports):
        """TCP listeners in ``netns`` answering "ok" (stopped at cleanup)."""
        code = textwrap.dedent(f"""\
            import socket, threading
            def serve(port):
                s = socket.socket(socket.AF_INET6)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                s.bind(("::", port)); s.listen(8)
                while True:
                    c, _ = s.accept(); c.sendall(b"ok"); c.close()
            for p in {list(ports)}[1:]:
                threading.Thread(target=serve, args=(p,), daemon=True).start()
            serve({ports[0]})
            """)
        argv = [sys.executable, "-c", code]
        if netns:
            argv = ["ip", "netns", "exec", netns, *argv]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.processes.append(proc)
        return proc

    def cleanup(self):
        from nova_lite.network.host import dhcp, plug, state
        for instance_uuid in list(plug.plugged()):
            try:
                plug.unplug(instance_uuid)
            except Exception as exc:  # noqa: BLE001 - clean up the rest anyway
                print(f"unplug {instance_uuid}: {exc}")
        for network_id in state.network_ids():
            dhcp.stop(network_id)                 # only a dnsmasq naming our pid file
        for family in ("inet", "bridge"):
            sh("nft", "delete", "table", family, self.table, check=False)
        for proc in self.processes:
            proc.kill()
            proc.wait()
        for netns in self.netns:
            sh("ip", "netns", "del", netns, check=False)
        for link in self.links:
            if os.path.exists(f"/sys/class/net/{link}"):
                sh("ip", "link", "del", link, check=False)


def ipv4_of(netns):
    out = sh("ip", "-n", netns, "-4", "-o", "addr", "show", "dev", "eth0").stdout.split()
    return out[out.index("inet") + 1].split("/")[0] if "inet" in out else None


def ipv6_addresses(netns):
    out = sh("ip", "-n", netns, "-6", "-o", "addr", "show", "dev", "eth0", "scope",
             "global").stdout.split()
    return {out[i + 1].split("/")[0] for i, word in enumerate(out) if word == "inet6"}


def nft_table(table):
    result = sh("nft", "list", "table", "inet", table, check=False)
    return result.stdout if result.returncode == 0 else None


@pytest.fixture(scope="module")
def env():
    if os.geteuid() != 0:
        pytest.skip("the data plane needs root (bridges, namespaces, nftables)")
    missing = [f"{tool} (Debian package {package})" for tool, package in TOOLS.items()
               if not which(tool)]
    if missing:
        pytest.skip("missing: " + ", ".join(missing))
    state_path = tempfile.mkdtemp(prefix="nl-dataplane-")
    environment = Env(state_path)
    values = {(None, "state_path"): state_path,
              ("network", "nft_table"): environment.table,
              ("network", "dhcp_lease_time"): 600}
    with conf_overrides(values):
        try:
            yield environment
        finally:
            environment.cleanup()
            shutil.rmtree(state_path, ignore_errors=True)


@pytest.fixture(scope="module")
def guest(env):
    """Instance one: an IPv4 + SLAAC IPv6 port with security groups."""
    from nova_lite.network.host import plug
    v4 = ni.subnet(str(env.net4), subnet_id="s4")
    v6 = ni.subnet(str(env.net6), subnet_id="s6", ipv6_address_mode="slaac")
    mac = ni.random_mac()
    port_id = str(uuid.uuid4())
    address4 = str(env.net4.network_address + 5)
    address6 = ni.eui64(str(env.net6), mac)

    def info(rules=(ni.SSH_IN, ni.ALL_OUT, ni.ALL_OUT6), floating_ips=()):
        return [ni.vif([address4, address6], [v4, v6], bridge=env.bridge,
                       network_id="net-test", mac=mac, port_id=port_id, rules=rules,
                       floating_ips=floating_ips)]
    g = {"uuid": str(uuid.uuid4()), "address4": address4, "address6": address6,
         "info": info, "subnets": [v4, v6]}
    plug.plug(g["uuid"], info())
    g["netns"] = env.attach("g1", info()[0])
    return g


def dnsmasq_alive(pid):
    try:
        with open(f"/proc/{pid}/cmdline") as handle:
            return "dnsmasq" in handle.read()
    except FileNotFoundError:
        return False


def dnsmasq_pid():
    from nova_lite.network.host import dhcp
    return dhcp.running("net-test")[0]


# -- DHCP, RA ---------------------------------------------------------------------
def test_plug_makes_the_bridge_and_dhcp_gives_the_guest_its_address(env, guest):
    from nova_lite.network.host import bridge
    assert bridge.exists(env.bridge)
    assert {f"{env.gateway4}/24", f"{env.gateway6}/64"} <= bridge.addresses(env.bridge)
    started = time.monotonic()
    assert env.dhcp(guest["netns"]) == guest["address4"]
    print(f"DHCP lease in {time.monotonic() - started:.2f} s")
    directory = os.path.join(env.state_path, "network", "net-test")
    with open(os.path.join(directory, "hosts")) as handle:
        assert handle.read() == (f"{guest['info']()[0]['mac']},{guest['address4']},"
                                 f"host-{guest['address4'].replace('.', '-')}\n")
    with open(os.path.join(directory, "leases")) as handle:
        assert guest["address4"] in handle.read()
    with open(f"/proc/{dnsmasq_pid()}/cmdline") as handle:
        assert f"--interface={env.bridge}" in handle.read().split("\0")
    assert os.path.exists(os.path.join(env.state_path, "network", "instances",
                                       f"{guest['uuid']}.json"))


def test_router_advertisements_give_the_guest_its_slaac_address(env, guest):
    wait_for(lambda: guest["address6"] in ipv6_addresses(guest["netns"]), bool, 20,
             interval=0.2, what=f"SLAAC address {guest['address6']} in the guest")


# -- security groups ----------------------------------------------------------------
def test_a_group_without_icmp_blocks_ping_and_allows_only_its_tcp_port(env, guest):
    table = nft_table(env.table)
    assert f'{guest["address4"]} . "{env.bridge}"' in table
    env.listen(guest["netns"], 22, 2222)
    wait_for(lambda: tcp_open(guest["address4"], 22), bool, 10, interval=0.2,
             what="TCP 22 open in the guest")
    assert not tcp_open(guest["address4"], 2222)
    assert not tcp_open(guest["address6"], 22)                 # an IPv4 rule
    assert blocked(guest["address4"])
    assert blocked(guest["address6"])


def test_refresh_with_an_icmp_rule_allows_ping(env, guest):
    from nova_lite.network.host import plug
    plug.refresh({guest["uuid"]: guest["info"](
        [ni.SSH_IN, ni.ICMP_IN, ni.rule(protocol="icmp", ethertype="IPv6"), ni.ALL_OUT])})
    assert pings_soon(guest["address4"])
    assert pings_soon(guest["address6"])
    assert tcp_open(guest["address4"], 22) and not tcp_open(guest["address4"], 2222)


def test_a_port_range_and_a_remote_prefix(env, guest):
    from nova_lite.network.host import plug
    plug.refresh({guest["uuid"]: guest["info"]([
        ni.rule(protocol="tcp", port_range_min=2000, port_range_max=3000,
                prefixes=[f"{env.gateway4}/32"]), ni.ALL_OUT])})
    assert tcp_open(guest["address4"], 2222)               # from the gateway address
    assert not tcp_open(guest["address4"], 22)
    assert not tcp_open(guest["address6"], 2222)            # an IPv4-only rule


def test_refresh_without_the_icmp_rule_blocks_ping_again(env, guest):
    from nova_lite.network.host import plug
    plug.refresh({guest["uuid"]: guest["info"]()})
    assert blocked(guest["address4"])
    assert blocked(guest["address6"])
    assert tcp_open(guest["address4"], 22)


def test_a_remote_group_is_a_set_whose_members_come_and_go_without_a_reapply(env, guest):
    """Ingress from the members of a group: the host's gateway address joins
    and leaves the group's set by element (the rest of the table is not
    rebuilt); an older pass never undoes a newer one; a whole set replaces
    what is older; a group no guest names is refused."""
    from nova_lite.network.host import groups, plug
    group = str(uuid.uuid4())
    plug.refresh({guest["uuid"]: guest["info"]([
        ni.rule(protocol="icmp", remote_group_id=group), ni.ALL_OUT])})
    assert plug.missing_groups() == {group}
    name = groups.set_name(group, 4)
    assert f"ip saddr @{name} meta l4proto icmp" in nft_table(env.table)
    assert blocked(guest["address4"])                       # no members yet
    handle_before = re.search(rf"set {name} {{", nft_table(env.table))
    assert plug.update_members(5, {group: {"add": [str(env.gateway4)], "remove": []}},
                               {}) == []
    assert pings_soon(guest["address4"])
    assert str(env.gateway4) in sh("nft", "list", "set", "inet", env.table, name).stdout
    assert handle_before and plug.missing_groups() == set()
    plug.update_members(6, {group: {"add": [], "remove": [str(env.gateway4)]}}, {})
    assert blocked(guest["address4"])
    plug.update_members(5, {group: {"add": [str(env.gateway4)], "remove": []}}, {})
    assert blocked(guest["address4"])                       # older than the removal
    plug.update_members(7, {}, {group: [str(env.gateway4), "10.255.0.9"]})
    assert pings_soon(guest["address4"])
    assert groups.addresses(group) == sorted([str(env.gateway4), "10.255.0.9"])
    other = str(uuid.uuid4())
    assert plug.update_members(8, {other: {"add": ["10.255.0.7"]}}, {}) == [other]
    assert groups.load(other) is None
    plug.restore()                                          # a whole re-apply keeps it
    assert pings_soon(guest["address4"])
    plug.refresh({guest["uuid"]: guest["info"]()})          # no rule names it any more
    assert groups.load(group) is None
    assert blocked(guest["address4"])


def test_egress_rules_apply_to_what_the_guest_sends(env, guest):
    from nova_lite.network.host import plug
    port = 40000 + random.randrange(20000)
    env.listen(None, port)
    # The host's services are out of a guest's reach (only DHCP, ICMP and ND are not).
    wait_for(lambda: tcp_open("127.0.0.1", port), bool, 10, interval=0.2,
             what="the host listener")
    assert not tcp_open(env.gateway4, port, netns=guest["netns"])
    assert pings(env.gateway4, guest["netns"])
    # No egress rule: the guest cannot even ping its gateway.
    plug.refresh({guest["uuid"]: guest["info"]([ni.SSH_IN])})
    assert blocked(env.gateway4, guest["netns"])
    plug.refresh({guest["uuid"]: guest["info"]()})
    assert pings_soon(env.gateway4, guest["netns"])


def test_a_guest_cannot_send_from_an_address_not_its_own(env, guest):
    sh("ip", "-n", guest["netns"], "addr", "add",
       f"{env.net4.network_address + 77}/24", "dev", "eth0")
    try:
        spoofed = sh("ip", "netns", "exec", guest["netns"], "ping", "-c", "2", "-W", "1",
                     "-I", str(env.net4.network_address + 77), env.gateway4, check=False)
        assert spoofed.returncode != 0
        assert pings(env.gateway4, guest["netns"])
    finally:
        sh("ip", "-n", guest["netns"], "addr", "del",
           f"{env.net4.network_address + 77}/24", "dev", "eth0")


# -- floating IPs -------------------------------------------------------------------
def test_a_floating_ip_reaches_the_guest_from_outside_and_from_the_host(env, guest):
    from nova_lite.network.host import bridge, plug
    fip = ni.floating(env.floating, guest["address4"], env.ext_bridge, str(env.ext))
    rules = [ni.SSH_IN, ni.ICMP_IN, ni.ALL_OUT]
    plug.refresh({guest["uuid"]: guest["info"](rules, [fip])})
    assert {f"{env.ext.network_address + 1}/24", f"{env.floating}/32"} <= \
        bridge.addresses(env.ext_bridge)
    client = env.attach("x", None, bridge=env.ext_bridge)
    sh("ip", "-n", client, "addr", "add", f"{env.client}/24", "dev", "eth0")
    assert pings_soon(env.floating, client)
    assert pings(env.floating)                                   # the host itself
    assert tcp_open(env.floating, 22, netns=client)
    # The guest reaches the client, which has no route back to 10.251/16: so the
    # client saw the floating address as the source (SNAT).
    assert pings(env.client, guest["netns"])
    # The floating IP's traffic passes the guest's security group.
    plug.refresh({guest["uuid"]: guest["info"]([ni.SSH_IN, ni.ALL_OUT], [fip])})
    assert blocked(env.floating, client)
    assert blocked(env.floating)              # the host's own ping, DNATed in output
    assert tcp_open(env.floating, 22, netns=client)


# -- a second port, without port security -------------------------------------------
def test_a_port_without_port_security_is_not_filtered(env, guest):
    from nova_lite.network.host import plug
    address = str(env.net4.network_address + 6)
    info = [ni.vif([address], guest["subnets"], bridge=env.bridge, network_id="net-test",
                   rules=[], port_security=False)]
    pid = dnsmasq_pid()
    second = str(uuid.uuid4())
    plug.plug(second, info)
    assert dnsmasq_pid() == pid                           # hosts added: SIGHUP, no restart
    netns = env.attach("g2", info[0])
    assert env.dhcp(netns) == address
    assert pings_soon(address)
    assert f'{address} . "{env.bridge}"' not in nft_table(env.table)
    guest["second"] = second


# -- unplug and restore ---------------------------------------------------------------
def test_unplug_removes_the_instances_entries(env, guest):
    from nova_lite.network.host import bridge, plug
    pid = dnsmasq_pid()
    plug.unplug(guest["uuid"])
    plug.unplug(guest["uuid"])                                           # idempotent
    table = nft_table(env.table)
    assert guest["address4"] not in table and env.floating not in table
    assert f"{env.floating}/32" not in bridge.addresses(env.ext_bridge)
    with open(os.path.join(env.state_path, "network", "net-test", "hosts")) as handle:
        assert guest["address4"] not in handle.read()
    assert dnsmasq_pid() not in (None, pid)       # restarted without the removed lease
    with open(os.path.join(env.state_path, "network", "net-test", "leases")) as handle:
        assert guest["address4"] not in handle.read()
    assert not os.path.exists(os.path.join(env.state_path, "network", "instances",
                                           f"{guest['uuid']}.json"))


def test_restore_rebuilds_what_the_host_lost(env, guest):
    from nova_lite.network.host import plug
    os.kill(dnsmasq_pid(), 9)
    wait_for(lambda: dnsmasq_pid() is None, bool, 10, interval=0.2, what="dnsmasq to die")
    sh("nft", "delete", "table", "inet", env.table)
    plug.restore()
    assert dnsmasq_pid() is not None
    assert nft_table(env.table) is not None
    g2 = f"{env.prefix}g2"
    sh("ip", "-n", g2, "-4", "addr", "flush", "dev", "eth0")
    assert env.dhcp(g2) == str(env.net4.network_address + 6)


def test_unplugging_the_last_instance_removes_the_tables_and_dnsmasq(env, guest):
    from nova_lite.network.host import plug
    pid = dnsmasq_pid()
    plug.unplug(guest["second"])
    assert nft_table(env.table) is None
    assert sh("nft", "list", "table", "bridge", env.table, check=False).returncode != 0
    assert not dnsmasq_alive(pid)
    assert not os.path.exists(os.path.join(env.state_path, "network", "net-test"))
    assert plug.plugged() == {}


def test_a_second_service_with_its_own_table_is_left_alone(env):
    """Another compute service's table (another name) survives our applies."""
    from nova_lite.network.host import plug
    other = env.table + "_other"
    sh("nft", "add", "table", "inet", other)
    try:
        instance = str(uuid.uuid4())
        plug.plug(instance, [ni.vif([str(env.net4.network_address + 9)],
                                    [ni.subnet(str(env.net4))],
                                    bridge=env.bridge, network_id="net-test")])
        plug.unplug(instance)
        assert sh("nft", "list", "table", "inet", other, check=False).returncode == 0
    finally:
        sh("nft", "delete", "table", "inet", other, check=False)
