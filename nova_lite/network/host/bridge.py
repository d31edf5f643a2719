"""Linux bridges and their addresses, through iproute2.

A network's bridge carries its subnets' gateway addresses: the host is the
guests' router (nova-network's FlatDHCP model) and reaches them directly. Each
bridge we manage sets nf_call_iptables / nf_call_ip6tables so its bridged
frames pass the inet nftables hooks (br_netfilter), whatever the machine-wide
net.bridge.bridge-nf-call-* switches say for other bridges. All of it is
idempotent: only what is missing is done.
"""
import ipaddress
import json
import logging
import os

from nova_lite.network.host import commands, model

LOG = logging.getLogger(__name__)
SYS = "/sys/class/net"


def exists(name):
    return os.path.isdir(os.path.join(SYS, name, "bridge"))


def ensure(name, mtu=None, addresses=(), mac=None):
    """Make bridge ``name`` exist, be up, filter through br_netfilter, have
    ``mtu`` and ``mac`` (if given: made with it, so its IPv6 link-local
    address derives from it) and carry ``addresses`` (interface strings such
    as "10.0.0.1/24"; others it has are left alone)."""
    model.ifname(name, "bridge")
    if not exists(name):
        if os.path.exists(os.path.join(SYS, name)):
            raise RuntimeError(f"{name} exists and is not a bridge")
        argv = ["ip", "link", "add", "name", name]
        if mtu:
            argv += ["mtu", mtu]
        if mac:
            argv += ["address", mac]
        try:
            commands.run(argv + ["type", "bridge", "stp_state", "0"])
            LOG.info("created bridge %s", name)
        except commands.CommandError:
            if not exists(name):            # not just a concurrent creation
                raise
    if sys_attribute(name, "bridge/nf_call_iptables") != "1" or \
            sys_attribute(name, "bridge/nf_call_ip6tables") != "1":
        commands.run(["ip", "link", "set", "dev", name, "type", "bridge",
                      "nf_call_iptables", "1", "nf_call_ip6tables", "1"])
    if mac and sys_attribute(name, "address") != mac:
        commands.run(["ip", "link", "set", "dev", name, "address", mac])
        LOG.info("%s has the MAC %s", name, mac)
    if mtu and sys_attribute(name, "mtu") != str(mtu):
        commands.run(["ip", "link", "set", "dev", name, "mtu", mtu])
    if not int(sys_attribute(name, "flags") or "0", 16) & 1:          # IFF_UP
        commands.run(["ip", "link", "set", "dev", name, "up"])
    if addresses:
        add_addresses(name, addresses)


def addresses(name):
    """The addresses on ``name`` as a set of interface strings ("10.0.0.1/24")."""
    out = commands.run(["ip", "-j", "addr", "show", "dev", name])
    result = set()
    for link in json.loads(out or "[]"):
        for info in link.get("addr_info", []):
            if info.get("family") in ("inet", "inet6") and info.get("scope") != "link":
                result.add(str(ipaddress.ip_interface(f"{info['local']}/{info['prefixlen']}")))
    return result


def add_addresses(name, wanted):
    have = addresses(name)
    for address in sorted(set(map(_normal, wanted)) - have):
        argv = ["ip", "addr", "add", address, "dev", name]
        if ipaddress.ip_interface(address).version == 6:
            argv.append("nodad")        # usable at once (dnsmasq binds to it)
        try:
            commands.run(argv)
        except commands.CommandError as exc:
            if "File exists" not in exc.stderr:
                raise
        LOG.info("added %s to %s", address, name)


def remove_addresses(name, unwanted):
    if not os.path.exists(os.path.join(SYS, name)):
        return
    have = addresses(name)
    for address in sorted(set(map(_normal, unwanted)) & have):
        try:
            commands.run(["ip", "addr", "del", address, "dev", name])
        except commands.CommandError as exc:
            if "Cannot assign requested address" not in exc.stderr:
                raise
        LOG.info("removed %s from %s", address, name)


def _normal(address):
    return str(ipaddress.ip_interface(address))


def sys_attribute(name, attribute):
    """/sys/class/net/<name>/<attribute>, stripped; None if it cannot be read."""
    try:
        with open(os.path.join(SYS, name, attribute)) as handle:
            return handle.read().strip()
    except OSError:
        return None
