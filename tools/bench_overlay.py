#!/usr/bin/env python3
"""Measure the VXLAN overlay against a same-host path (root; the real kernel,
no VM): two "hosts" as network namespaces on an underlay switch running the
host data plane with [network] overlay = vxlan (tests/fixtures/overlay_lab.py),
guests a1, a2 on host a and b1 on host b, one network, security groups on.

    sudo .venv/bin/python tools/bench_overlay.py [--count 1000] [--seconds 5]

Prints ping RTT median and p99 a1 -> a2 (same host: bridge only) and
a1 -> b1 (cross host: bridge, VXLAN, underlay switch, VXLAN, bridge), and TCP
throughput of each path with iperf3 if it is installed (Debian: iperf3).
Figures only: nothing is asserted. Everything it makes is removed at the end.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.fixtures import network_info as ni  # noqa: E402
from tests.fixtures import overlay_lab as ol  # noqa: E402

IPERF_PORT = 5201


def rtts(source_netns, address, count, interval):
    out = ol.sh("ip", "netns", "exec", source_netns, "ping", "-n", "-c", count, "-i",
                interval, "-W", "1", address, check=False, timeout=count * 1 + 60).stdout
    return sorted(float(x) for x in re.findall(r"time=([0-9.]+) ms", out))


def percentile(values, fraction):
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(fraction * (len(values) - 1))))]


def iperf(client_netns, server_netns, address, seconds):
    server = subprocess.Popen(["ip", "netns", "exec", server_netns, "iperf3", "-s", "-1",
                               "-p", str(IPERF_PORT)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        out = ol.sh("ip", "netns", "exec", client_netns, "iperf3", "-c", address, "-p",
                    IPERF_PORT, "-t", seconds, "-J", check=False, timeout=seconds + 30).stdout
        result = json.loads(out or "{}")
        return result.get("end", {}).get("sum_received", {}).get("bits_per_second")
    finally:
        server.kill()
        server.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="pings per path")
    parser.add_argument("--interval", default="0.005", help="seconds between pings")
    parser.add_argument("--seconds", type=int, default=5, help="iperf3 duration")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (namespaces, bridges, VXLAN, nftables)")
    missing = ol.missing_tools()
    if missing:
        sys.exit("missing: " + ", ".join(missing))
    workdir = tempfile.mkdtemp(prefix="nl-bench-overlay-")
    lab = ol.Lab(workdir, hosts=("a", "b"), uplink=False)
    try:
        subnet = ni.subnet("10.40.0.0/24", subnet_id="s4")
        rules = [ni.ICMP_IN, ni.rule(protocol="tcp", port_range_min=IPERF_PORT,
                                     port_range_max=IPERF_PORT), ni.ALL_OUT]
        guests = {}
        for name, host, address in (("a1", "a", "10.40.0.5"), ("a2", "a", "10.40.0.7"),
                                    ("b1", "b", "10.40.0.6")):
            info = [ni.vif([address], [subnet], bridge="nlbr-bench0001",
                           network_id="net-bench", rules=rules, segmentation_id=4242)]
            lab.hosts[host].call("plug", str(uuid.uuid4()), info)
            netns = lab.guest(name, lab.hosts[host], info[0], mtu=1450)
            assert lab.dhcp(netns) == address, f"no DHCP lease for {name}"
            guests[name] = (netns, address)
        a1 = guests["a1"][0]
        for target in ("a2", "b1"):
            ol.pings_soon(guests[target][1], a1)
        print(f"kernel {os.uname().release}, {os.cpu_count()} CPUs; guests' MTU 1450 "
              f"(underlay 1500 - 50); {args.count} pings every {args.interval} s per path")
        for label, target in (("same host  a1 -> a2", "a2"), ("cross host a1 -> b1", "b1")):
            values = rtts(a1, guests[target][1], args.count, args.interval)
            print(f"{label}: RTT median {statistics.median(values) * 1000:.0f} us, "
                  f"p99 {percentile(values, 0.99) * 1000:.0f} us "
                  f"({len(values)}/{args.count} answered)")
        if shutil.which("iperf3"):
            for label, target in (("same host  a1 -> a2", "a2"),
                                  ("cross host a1 -> b1", "b1")):
                bps = iperf(a1, guests[target][0], guests[target][1], args.seconds)
                print(f"{label}: TCP {bps / 1e9:.2f} Gbit/s" if bps else
                      f"{label}: iperf3 gave no figure")
        else:
            print("iperf3 not installed (Debian: iperf3): no TCP throughput")
    finally:
        lab.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
