"""python-openstackclient end to end against the Networking API served over
real HTTP (the in-process app, no worker services: servers stay in BUILD,
which is enough for their ports and floating IPs)."""
import json
import os
import subprocess
import sys
import tempfile

import pytest

EXE = os.path.join(os.path.dirname(sys.executable), "openstack")


def osc(live_api, user, *args, expect_ok=True, timeout=120):
    if not os.path.exists(EXE):
        pytest.skip("python-openstackclient is not installed in this environment "
                    "(pip install -e .[test] installs it)")
    result = subprocess.run([EXE, *args], env=live_api.env(user), capture_output=True,
                            text=True, timeout=timeout, check=False)
    if expect_ok:
        assert result.returncode == 0, \
            f"openstack {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        if "-f" in args and "json" in args:
            return json.loads(result.stdout)
        return result.stdout
    assert result.returncode != 0, f"openstack {' '.join(args)} succeeded:\n{result.stdout}"
    return result.stderr


@pytest.fixture
def cleanup(live_api):
    """Commands that undo what a test made, run last-first as admin."""
    undo = []
    yield undo
    for args in reversed(undo):
        subprocess.run([EXE, *args], env=live_api.env("admin"), capture_output=True,
                       timeout=120, check=False)


def test_networks_subnets_ports_and_floating_ips(live_api, cleanup):
    # An external network and its floating IP range (admin only).
    refused = osc(live_api, "demo", "network", "create", "--external", "osc-demo-ext",
                  expect_ok=False)
    assert "403" in refused or "disallowed by policy" in refused
    public = osc(live_api, "admin", "network", "create", "--external", "osc-public",
                 "-f", "json")
    cleanup.append(("network", "delete", public["id"]))
    assert public["router:external"] is True
    public_subnet = osc(live_api, "admin", "subnet", "create", "--network", "osc-public",
                        "--subnet-range", "10.150.0.0/24", "--no-dhcp", "osc-public-v4",
                        "-f", "json")
    cleanup.append(("subnet", "delete", public_subnet["id"]))
    assert public_subnet["enable_dhcp"] is False

    shared = osc(live_api, "admin", "network", "create", "--share", "osc-shared",
                 "-f", "json")
    cleanup.append(("network", "delete", shared["id"]))
    private = osc(live_api, "admin", "network", "create", "osc-admin-only", "-f", "json")
    cleanup.append(("network", "delete", private["id"]))

    # The demo user's own network with two subnets.
    net = osc(live_api, "demo", "network", "create", "osc-net", "-f", "json")
    cleanup.append(("network", "delete", net["id"]))
    v4 = osc(live_api, "demo", "subnet", "create", "--network", "osc-net",
             "--subnet-range", "10.150.1.0/24", "--gateway", "10.150.1.1",
             "--allocation-pool", "start=10.150.1.10,end=10.150.1.100",
             "--dns-nameserver", "192.0.2.53", "osc-v4", "-f", "json")
    cleanup.append(("subnet", "delete", v4["id"]))
    assert (v4["cidr"], v4["gateway_ip"], v4["dns_nameservers"]) == \
        ("10.150.1.0/24", "10.150.1.1", ["192.0.2.53"])
    assert v4["allocation_pools"] == [{"start": "10.150.1.10", "end": "10.150.1.100"}]
    v6 = osc(live_api, "demo", "subnet", "create", "--network", "osc-net",
             "--ip-version", "6", "--ipv6-ra-mode", "slaac", "--ipv6-address-mode",
             "slaac", "--subnet-range", "fd00:150::/64", "osc-v6", "-f", "json")
    cleanup.append(("subnet", "delete", v6["id"]))
    assert (v6["ip_version"], v6["ipv6_address_mode"]) == (6, "slaac")
    overlap = osc(live_api, "demo", "subnet", "create", "--network", "osc-net",
                  "--subnet-range", "10.150.1.128/25", "osc-overlap", expect_ok=False)
    assert "overlaps with another subnet" in overlap

    listed = {n["Name"] for n in osc(live_api, "demo", "network", "list", "-f", "json")}
    assert {"osc-net", "osc-public", "osc-shared"} <= listed    # own, external, shared
    assert "osc-admin-only" not in listed
    shown = osc(live_api, "demo", "network", "show", "osc-net", "-f", "json")
    assert set(shown["subnets"]) == {v4["id"], v6["id"]}
    assert {s["Name"] for s in osc(live_api, "demo", "subnet", "list", "--network",
                                   "osc-net", "-f", "json")} == {"osc-v4", "osc-v6"}
    assert osc(live_api, "demo", "subnet", "show", "osc-v4", "-f", "json")["id"] == v4["id"]

    # A port, and a floating IP moved on and off it.
    port = osc(live_api, "demo", "port", "create", "--network", "osc-net", "osc-port",
               "-f", "json")
    cleanup.append(("port", "delete", port["id"]))
    addresses = {f["ip_address"] for f in port["fixed_ips"]}
    assert len(addresses) == 2 and any(a.startswith("10.150.1.") for a in addresses)
    ports = osc(live_api, "demo", "port", "list", "--network", "osc-net", "-f", "json")
    assert [p["ID"] for p in ports] == [port["id"]]
    assert osc(live_api, "demo", "port", "show", "osc-port", "-f", "json")["id"] == \
        port["id"]

    fip = osc(live_api, "demo", "floating", "ip", "create", "osc-public", "-f", "json")
    cleanup.append(("floating", "ip", "delete", fip["id"]))
    address = fip["floating_ip_address"]
    assert address.startswith("10.150.0.") and fip["status"] == "DOWN"
    osc(live_api, "demo", "floating", "ip", "set", "--port", "osc-port", address)
    shown = osc(live_api, "demo", "floating", "ip", "show", address, "-f", "json")
    assert (shown["port_id"], shown["status"]) == (port["id"], "ACTIVE")
    assert shown["fixed_ip_address"].startswith("10.150.1.")
    listed = osc(live_api, "demo", "floating", "ip", "list", "-f", "json")
    assert [(f["Floating IP Address"], f["Port"]) for f in listed
            if f["ID"] == fip["id"]] == [(address, port["id"])]
    osc(live_api, "demo", "floating", "ip", "unset", "--port", address)
    shown = osc(live_api, "demo", "floating", "ip", "show", fip["id"], "-f", "json")
    assert (shown["port_id"], shown["status"]) == (None, "DOWN")
    osc(live_api, "demo", "floating", "ip", "delete", address)
    osc(live_api, "demo", "port", "delete", "osc-port")
    osc(live_api, "demo", "subnet", "delete", "osc-v6")
    # The network still has osc-v4 but no ports: it can go.
    osc(live_api, "demo", "subnet", "delete", "osc-v4")
    osc(live_api, "demo", "network", "delete", "osc-net")
    gone = osc(live_api, "demo", "network", "show", "osc-net", expect_ok=False)
    assert "No Network found" in gone or "osc-net" in gone


def test_server_add_and_remove_floating_ip(live_api, cleanup):
    with tempfile.NamedTemporaryFile(suffix=".img") as image_file:
        image_file.write(b"\0" * 4096)
        image_file.flush()
        image = osc(live_api, "admin", "image", "create", "--disk-format", "qcow2",
                    "--container-format", "bare", "--public", "--file", image_file.name,
                    "osc-net-image", "-f", "json")
    cleanup.append(("image", "delete", image["id"]))
    public = osc(live_api, "admin", "network", "create", "--external", "osc-public2",
                 "-f", "json")
    cleanup.append(("network", "delete", public["id"]))
    public_subnet = osc(live_api, "admin", "subnet", "create", "--network",
                        "osc-public2", "--subnet-range", "10.150.2.0/24", "osc-public2-v4",
                        "-f", "json")
    cleanup.append(("subnet", "delete", public_subnet["id"]))
    net = osc(live_api, "demo", "network", "create", "osc-srv-net", "-f", "json")
    cleanup.append(("network", "delete", net["id"]))
    subnet = osc(live_api, "demo", "subnet", "create", "--network", "osc-srv-net",
                 "--subnet-range", "10.150.3.0/24", "osc-srv-v4", "-f", "json")
    cleanup.append(("subnet", "delete", subnet["id"]))

    server = osc(live_api, "demo", "server", "create", "--flavor", "m1.tiny", "--image",
                 "osc-net-image", "--network", "osc-srv-net", "osc-fip-vm", "-f", "json")
    cleanup.append(("server", "delete", "--wait", server["id"]))
    (port,) = osc(live_api, "demo", "port", "list", "--server", "osc-fip-vm", "-f", "json")
    assert port["Fixed IP Addresses"][0]["ip_address"].startswith("10.150.3.")

    fip = osc(live_api, "demo", "floating", "ip", "create", "osc-public2", "-f", "json")
    cleanup.append(("floating", "ip", "delete", fip["id"]))
    address = fip["floating_ip_address"]
    osc(live_api, "demo", "server", "add", "floating", "ip", "osc-fip-vm", address)
    shown = osc(live_api, "demo", "floating", "ip", "show", address, "-f", "json")
    assert (shown["port_id"], shown["status"]) == (port["ID"], "ACTIVE")
    osc(live_api, "demo", "server", "remove", "floating", "ip", "osc-fip-vm", address)
    shown = osc(live_api, "demo", "floating", "ip", "show", address, "-f", "json")
    assert shown["port_id"] is None
    in_use = osc(live_api, "demo", "network", "delete", "osc-srv-net", expect_ok=False)
    assert "ports still in use" in in_use or "409" in in_use


def test_security_groups_and_rules(live_api, cleanup):
    group = osc(live_api, "demo", "security", "group", "create", "osc-sg",
                "--description", "ssh", "-f", "json")
    cleanup.append(("security", "group", "delete", group["id"]))
    assert len(group["rules"]) == 2                          # egress IPv4 and IPv6
    ssh = osc(live_api, "demo", "security", "group", "rule", "create", "--protocol", "tcp",
              "--dst-port", "22", "osc-sg", "-f", "json")
    assert (ssh["protocol"], ssh["port_range_min"], ssh["port_range_max"],
            ssh["direction"], ssh["ether_type"]) == ("tcp", 22, 22, "ingress", "IPv4")
    duplicate = osc(live_api, "demo", "security", "group", "rule", "create", "--protocol",
                    "tcp", "--dst-port", "22", "osc-sg", expect_ok=False)
    assert "already exists" in duplicate
    narrow = osc(live_api, "demo", "security", "group", "rule", "create", "--protocol",
                 "tcp", "--dst-port", "80:81", "--remote-ip", "10.9.0.0/16", "osc-sg",
                 "-f", "json")
    assert narrow["remote_ip_prefix"] == "10.9.0.0/16"
    v6 = osc(live_api, "demo", "security", "group", "rule", "create", "--ethertype", "IPv6",
             "--protocol", "tcp", "--dst-port", "443", "--remote-group", "osc-sg",
             "--egress", "osc-sg", "-f", "json")
    assert (v6["ether_type"], v6["direction"], v6["remote_group_id"]) == \
        ("IPv6", "egress", group["id"])
    rules = osc(live_api, "demo", "security", "group", "rule", "list", "osc-sg",
                "-f", "json")
    assert len(rules) == 5
    assert {ssh["id"], narrow["id"], v6["id"]} <= {r["ID"] for r in rules}
    osc(live_api, "demo", "security", "group", "rule", "show", ssh["id"])
    osc(live_api, "demo", "security", "group", "rule", "delete", ssh["id"])
    rules = osc(live_api, "demo", "security", "group", "rule", "list", "osc-sg",
                "-f", "json")
    assert ssh["id"] not in {r["ID"] for r in rules}
    groups = {g["Name"] for g in osc(live_api, "demo", "security", "group", "list",
                                     "-f", "json")}
    assert {"default", "osc-sg"} <= groups
    assert osc(live_api, "demo", "security", "group", "show", "osc-sg", "-f",
               "json")["id"] == group["id"]
    osc(live_api, "demo", "security", "group", "delete", "osc-sg")
    assert "osc-sg" not in {g["Name"] for g in osc(live_api, "demo", "security", "group",
                                                   "list", "-f", "json")}
