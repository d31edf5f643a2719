"""DHCP (and IPv6 router advertisements) with one dnsmasq per network bridge.

    <state_path>/network/<network id>/
      dnsmasq.pid    written by dnsmasq
      hosts          --dhcp-hostsfile: "mac,address,hostname", one line per
                     address of each vif of the network on this host
      leases         --dhcp-leasefile
      dnsmasq.log    --log-facility (DHCP requests and answers)

dnsmasq hands out only the addresses listed in ``hosts`` (``static`` ranges),
binds only to its bridge (``--bind-interfaces --interface=<bridge>
--except-interface=lo``, so it never clashes with libvirt's or any other
dnsmasq), serves no DNS (``--port=0``; a subnet's dns_nameservers are handed
to guests) and reads no system configuration (``--conf-file=/dev/null``).

Reconciling (``ensure``): a dead dnsmasq is started; one whose command line
differs (subnets, gateway, DNS or MTU changed) is restarted; when entries are
only added the hosts file is rewritten and dnsmasq re-reads it on SIGHUP;
when entries go away dnsmasq is restarted after their leases are dropped from
the lease file (else a re-used address stays "leased to" the old MAC and
dnsmasq refuses it to the new one). A process is ours only if its
/proc/<pid>/cmdline names our pid file, so a re-used PID is never signalled.
"""
import logging
import os
import shutil
import signal
import time

from nova_lite.conf import CONF
from nova_lite.network.host import commands, state

LOG = logging.getLogger(__name__)
PIDFILE, HOSTS, LEASES, LOG_FILE = "dnsmasq.pid", "hosts", "leases", "dnsmasq.log"
RA_MODES = {"slaac": "ra-only", "dhcpv6-stateless": "ra-stateless",
            "dhcpv6-stateful": "static"}
STOP_SECONDS = 5
START_SECONDS = 10
MAX_LEASES = 1 << 20


def dhcp_subnets(subnets):
    """The subnets dnsmasq serves: DHCP enabled, and for IPv6 an address mode."""
    return [s for s in sorted(subnets, key=lambda s: (s.version, s.cidr))
            if s.enable_dhcp and (s.version == 4 or s.ipv6_address_mode in RA_MODES)]


def hostname(address):
    return "host-" + str(address).replace(".", "-").replace(":", "-")


def host_lines(vifs, subnets):
    """The --dhcp-hostsfile lines for ``vifs``: every fixed address in a
    DHCPv4 or DHCPv6-stateful subnet (SLAAC addresses need no entry)."""
    served = [s for s in dhcp_subnets(subnets)
              if s.version == 4 or s.ipv6_address_mode == "dhcpv6-stateful"]
    lines = []
    for vif in sorted(vifs, key=lambda v: (v.mac, v.port_id)):
        for fixed in vif.fixed_ips:
            if any(fixed.address in s.cidr for s in served):
                address = fixed.address if fixed.version == 4 else f"[{fixed.address}]"
                lines.append(f"{vif.mac},{address},{hostname(fixed.address)}")
    return list(dict.fromkeys(lines))


def argv(network_id, bridge, subnets, mtu=None):
    """dnsmasq's command line for a network (its served subnets must not be empty)."""
    directory = state.network_dir(network_id)
    lease = f"{CONF.network.dhcp_lease_time}s"
    served = dhcp_subnets(subnets)
    leases = sum(min(s.cidr.num_addresses, MAX_LEASES) for s in served)
    args = [CONF.network.dnsmasq_binary, "--conf-file=/dev/null", "--no-hosts",
            "--no-resolv", "--port=0", f"--user={CONF.network.dnsmasq_user}",
            "--bind-interfaces", f"--interface={bridge}", "--except-interface=lo",
            f"--pid-file={os.path.join(directory, PIDFILE)}",
            f"--dhcp-hostsfile={os.path.join(directory, HOSTS)}",
            f"--dhcp-leasefile={os.path.join(directory, LEASES)}",
            f"--log-facility={os.path.join(directory, LOG_FILE)}",
            f"--domain={CONF.network.dhcp_domain}",
            f"--dhcp-lease-max={max(min(leases, MAX_LEASES), 16)}"]
    for index, subnet in enumerate(served):
        tag = f"s{index}"
        if subnet.version == 4:
            args.append(f"--dhcp-range=set:{tag},{subnet.cidr.network_address},static,"
                        f"{subnet.cidr.netmask},{lease}")
            # Without a gateway say so: dnsmasq would offer itself as the router.
            args.append(f"--dhcp-option=tag:{tag},option:router"
                        + (f",{subnet.gateway}" if subnet.gateway else ""))
            dns = [str(a) for a in subnet.dns_nameservers if a.version == 4]
            if dns:
                args.append(f"--dhcp-option=tag:{tag},option:dns-server,{','.join(dns)}")
            if mtu:
                args.append(f"--dhcp-option=tag:{tag},option:mtu,{mtu}")
        else:
            args.append(f"--dhcp-range=set:{tag},{subnet.cidr.network_address},"
                        f"{RA_MODES[subnet.ipv6_address_mode]},{subnet.cidr.prefixlen},"
                        f"{lease}")
            dns = [f"[{a}]" for a in subnet.dns_nameservers if a.version == 6]
            if dns:
                args.append(f"--dhcp-option=tag:{tag},option6:dns-server,{','.join(dns)}")
    if any(s.version == 6 for s in served):
        args.append("--enable-ra")
    return args


# -- the process ------------------------------------------------------------------
def _path(network_id, name):
    return os.path.join(state.network_dir(network_id), name)


def running(network_id):
    """(pid, cmdline list) of this network's dnsmasq, or (None, None)."""
    pidfile = _path(network_id, PIDFILE)
    try:
        with open(pidfile) as handle:
            pid = int(handle.read().strip())
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmdline = handle.read().decode(errors="replace").split("\0")
    except (OSError, ValueError):
        return None, None
    if cmdline and cmdline[-1] == "":
        cmdline.pop()
    if f"--pid-file={pidfile}" not in cmdline:       # dead, a zombie, or not ours
        return None, None
    return pid, cmdline


def ensure(network_id, bridge, subnets, vifs, mtu=None):
    """Make the network's dnsmasq run with the current subnets and host entries."""
    wanted = argv(network_id, bridge, subnets, mtu)
    lines = host_lines(vifs, subnets)
    text = "".join(f"{line}\n" for line in lines)
    hosts = _path(network_id, HOSTS)
    try:
        with open(hosts) as handle:
            old = handle.read()
    except FileNotFoundError:
        old = None
    pid, cmdline = running(network_id)
    if pid and (cmdline != wanted or set((old or "").splitlines()) - set(lines)):
        LOG.info("restarting dnsmasq of network %s (%s)", network_id,
                 "configuration changed" if cmdline != wanted else "hosts removed")
        _stop(network_id, pid)
        pid = None
    if pid is None:
        state.write_file(hosts, text)
        _prune_leases(network_id, lines)
        _start(network_id, wanted)
    elif old != text:
        state.write_file(hosts, text)
        os.kill(pid, signal.SIGHUP)
        LOG.info("dnsmasq of network %s reloaded (%d hosts)", network_id, len(lines))


def stop(network_id):
    """Stop the network's dnsmasq and remove its directory."""
    pid, _ = running(network_id)
    if pid:
        _stop(network_id, pid)
    shutil.rmtree(state.network_dir(network_id), ignore_errors=True)
    LOG.info("dnsmasq of network %s stopped", network_id)


def _start(network_id, args):
    os.makedirs(state.network_dir(network_id), mode=0o755, exist_ok=True)
    try:
        os.unlink(_path(network_id, PIDFILE))
    except FileNotFoundError:
        pass
    commands.run(args)                   # dnsmasq daemonizes once it is set up
    deadline = time.monotonic() + START_SECONDS
    while running(network_id)[0] is None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"dnsmasq of network {network_id} did not start; see "
                               f"{_path(network_id, LOG_FILE)}")
        time.sleep(0.05)
    LOG.info("dnsmasq of network %s started (pid %s)", network_id, running(network_id)[0])


def _stop(network_id, pid):
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + STOP_SECONDS
        while running(network_id)[0] == pid and time.monotonic() < deadline:
            time.sleep(0.05)
        if running(network_id)[0] != pid:
            break
    try:
        os.unlink(_path(network_id, PIDFILE))
    except FileNotFoundError:
        pass


def _prune_leases(network_id, lines):
    """Drop leases of addresses no host entry gives to that MAC any more."""
    path = _path(network_id, LEASES)
    try:
        with open(path) as handle:
            leases = handle.read().splitlines()
    except FileNotFoundError:
        return
    allowed = set()
    for line in lines:
        mac, address, _name = line.split(",")
        allowed.add((mac, address.strip("[]")))
    v6 = {address for _mac, address in allowed}
    kept = []
    for lease in leases:
        fields = lease.split()
        if len(fields) < 3 or fields[0] == "duid":
            kept.append(lease)
        elif ":" in fields[2]:                      # IPv6: expiry iaid address ...
            if fields[2] in v6:
                kept.append(lease)
        elif (fields[1].lower(), fields[2]) in allowed:
            kept.append(lease)
    if kept != leases:
        state.write_file(path, "".join(f"{lease}\n" for lease in kept))
