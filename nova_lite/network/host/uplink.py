"""Floating IPs on a provider uplink ([network] external_interface).

Without it (the default) the host carries the external subnet's gateway
address on the external network's bridge and the external network is local
to the host (plug.py). With it, on each host with a floating IP of its own:

    nlbr-<external>   enslaves external_interface (e.g. eth1): the provider
                      segment, where the upstream router owns the gateway
      /32 per floating IP of this host's guests: only the guest's host
                      answers ARP for it; announced with a gratuitous ARP
                      (iputils ``arping -U``) when it appears here, so a
                      moved floating IP is found at its new host at once
    route <external cidr> dev nlbr-<external>        (main table, on-link)
    table T: default via <external gateway> dev nlbr-<external>,
             <external cidr> dev nlbr-<external>
    rule  P:   lookup main suppress_prefixlength 0   (any route but a default
                                                      one still wins)
    rule  P+1: from <fixed address> lookup T         (one per floating IP here)

so a guest with a floating IP sends its replies (and its own traffic, SNATed
to the floating address) out through the uplink to the upstream router,
while the host keeps its own default route (T = P =
[network] external_route_table). The rule also satisfies strict reverse-path
filtering for packets arriving on the uplink for the guest.
"""
import ipaddress
import json
import logging
import os

from nova_lite.conf import CONF
from nova_lite.network.host import bridge, commands

LOG = logging.getLogger(__name__)
SYS = "/sys/class/net"


def enabled():
    return bool(CONF.network.external_interface)


def table():
    return int(CONF.network.external_route_table)


def suppress_priority():
    return min(table(), 32000)


def rule_priority():
    return suppress_priority() + 1


def ensure_port(name):
    """external_interface enslaved to bridge ``name`` and up."""
    interface = CONF.network.external_interface
    if not os.path.exists(os.path.join(SYS, interface)):
        raise RuntimeError(f"[network] external_interface {interface} does not exist")
    master = os.path.join(SYS, interface, "master")
    if not os.path.exists(master) or os.path.basename(os.path.realpath(master)) != name:
        commands.run(["ip", "link", "set", "dev", interface, "master", name])
        LOG.info("%s is the uplink of %s", interface, name)
    commands.run(["ip", "link", "set", "dev", interface, "up"])


def route_argvs(name, cidrs, gateway):
    """The routes of the uplink bridge ``name`` (``ip route replace`` argvs)."""
    argvs = []
    for cidr in sorted(cidrs, key=lambda c: (c.version, c)):
        argvs.append(["ip", "route", "replace", str(cidr), "dev", name, "proto", "static",
                      "scope", "link"])
        argvs.append(["ip", "route", "replace", str(cidr), "dev", name, "proto", "static",
                      "scope", "link", "table", table()])
    if gateway is not None:
        argvs.append(["ip", "route", "replace", "default", "via", str(gateway), "dev", name,
                      "proto", "static", "table", table()])
    return argvs


def ensure_routes(name, cidrs, gateway):
    for argv in route_argvs(name, cidrs, gateway):
        commands.run(argv)


def ensure_rules(fixed_addresses):
    """Exactly one 'from <fixed> lookup T' rule per address (and the
    suppress rule while there is any); others of ours are deleted."""
    wanted = {str(ipaddress.ip_address(a)) for a in fixed_addresses}
    have, suppress = _rules()
    for address in sorted(have - wanted):
        commands.run(["ip", "rule", "del", "priority", rule_priority(), "from", address,
                      "lookup", table()], check=False)
    if wanted and not suppress:
        commands.run(["ip", "rule", "add", "priority", suppress_priority(), "lookup", "main",
                      "suppress_prefixlength", "0"])
    for address in sorted(wanted - have):
        commands.run(["ip", "rule", "add", "priority", rule_priority(), "from", address,
                      "lookup", table()])
    if not wanted and suppress:
        commands.run(["ip", "rule", "del", "priority", suppress_priority(), "lookup", "main",
                      "suppress_prefixlength", "0"], check=False)


def _rules():
    """({fixed addresses with our rule}, whether our suppress rule exists)."""
    out = commands.run(["ip", "-j", "rule", "show"], check=False)
    try:
        rules = json.loads(out or "[]")
    except ValueError:
        rules = []
    fixed, suppress = set(), False
    for rule in rules:
        if rule.get("priority") == suppress_priority() and \
                rule.get("suppress_prefixlen") == 0:
            suppress = True
        elif rule.get("priority") == rule_priority() and \
                str(rule.get("table")) == str(table()) and rule.get("src"):
            fixed.add(rule["src"])
    return fixed, suppress


def remove_routes(name):
    """Our table's routes (when no floating IP is left here)."""
    commands.run(["ip", "route", "flush", "table", table()], check=False)


def announce(name, addresses):
    """A gratuitous ARP for each floating address newly on this host, so the
    upstream router and neighbours update at once. Needs iputils arping
    (Debian: iputils-arping); without it they learn when their entry expires."""
    if not addresses:
        return
    if not commands.available("arping"):
        LOG.warning("arping (iputils-arping) is missing: floating IPs %s moved here "
                    "are not announced", ", ".join(sorted(addresses)))
        return
    for address in sorted(addresses):
        address = address.split("/")[0]
        try:
            commands.run(["arping", "-U", "-c", "1", "-w", "1", "-I", name, "-s", address,
                          address], check=False, timeout=5)
        except commands.CommandError as exc:
            LOG.warning("gratuitous ARP for %s failed: %s", address, exc)


def addresses(name):
    return bridge.addresses(name) if os.path.exists(os.path.join(SYS, name)) else set()
