"""The kernel switches the data plane needs: IP forwarding (the host routes
between guests and floating networks) and br_netfilter (bridged frames reach
the inet-family nftables hooks; see firewall.py)."""
import json
import logging
import os

from nova_lite.network.host import commands

LOG = logging.getLogger(__name__)
PROC = "/proc/sys"


def read(key):
    try:
        with open(os.path.join(PROC, key.replace(".", "/"))) as handle:
            return handle.read().strip()
    except FileNotFoundError:
        return None


def write(key, value):
    """Set ``key`` (e.g. "net.ipv4.ip_forward") unless it already has ``value``."""
    value = str(value)
    if read(key) == value:
        return False
    with open(os.path.join(PROC, key.replace(".", "/")), "w") as handle:
        handle.write(value)
    LOG.info("sysctl %s = %s", key, value)
    return True


def ensure_forwarding(ipv6=False):
    write("net.ipv4.ip_forward", 1)
    if ipv6 and read("net.ipv6.conf.all.forwarding") != "1":
        # Forwarding makes an interface ignore router advertisements unless its
        # accept_ra is 2: the host's own uplinks that use RAs keep using them.
        for name in _ra_interfaces():
            if read(f"net.ipv6.conf.{name}.accept_ra") == "1":
                write(f"net.ipv6.conf.{name}.accept_ra", 2)
        write("net.ipv6.conf.all.forwarding", 1)


def _ra_interfaces():
    """Interfaces with routes learned from router advertisements."""
    out = commands.run(["ip", "-6", "-j", "route", "show", "proto", "ra"], check=False)
    try:
        routes = json.loads(out or "[]")
    except ValueError:
        return set()
    return {route["dev"] for route in routes if route.get("dev")}


def ensure_br_netfilter():
    """Load br_netfilter if it is a module that is not loaded yet."""
    if read("net.bridge.bridge-nf-call-iptables") is not None:
        return
    commands.run(["modprobe", "br_netfilter"], check=False)
    if read("net.bridge.bridge-nf-call-iptables") is None:
        raise RuntimeError("br_netfilter is not available (modprobe br_netfilter failed): "
                           "security groups cannot filter bridged traffic")
