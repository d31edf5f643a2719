"""A real guest on a network: the compute host's data plane
(nova_lite.network.host) plugs a vif, the libvirt driver boots
devstack/tools/build-image.sh's tiny image (TCG here) with a NIC on the vif's
bridge and tap, and

  * the guest gets its allocated address from our dnsmasq (its udhcpc prints
    the lease on the serial console);
  * with a security group without ICMP the host cannot ping it; a refresh
    adding the rule lets ping through, one removing it blocks it again.

One guest boot (~10-20 s under TCG). Needs what test_libvirt_guest.py needs
plus nftables and dnsmasq (dnsmasq-base); uses its own bridge, subnet and nft
table and removes them at the end.
"""
import ipaddress
import os
import shutil
import uuid

import pytest

from tests.fixtures import network_info as ni
from tests.fixtures.dataplane import TOOLS, blocked, free_octet, pings_soon, sh, which
from tests.fixtures.libvirtd import BOOT_SECONDS, conf_overrides, instance
from tests.fixtures.waiting import wait_for

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def network(drv):  # drv sets CONF.state_path for both
    missing = [f"{tool} ({package})" for tool, package in TOOLS.items() if not which(tool)]
    if missing:
        pytest.skip("missing: " + ", ".join(missing))
    from nova_lite.conf import CONF
    from nova_lite.network.host import dhcp, plug, state
    sfx = uuid.uuid4().hex[:6]
    net = ipaddress.ip_network(f"10.251.{free_octet('10.251')}.0/24")
    setup = {"bridge": f"nlt{sfx}v", "table": f"nl_test_{sfx}", "cidr": net,
             "subnet": ni.subnet(str(net)), "address": str(net.network_address + 5)}
    with conf_overrides({("network", "nft_table"): setup["table"]}):
        assert CONF.state_path.startswith("/tmp/nl-libvirt-test-")
        try:
            yield setup
        finally:
            for instance_uuid in plug.plugged():
                drv.destroy(instance_uuid)
                plug.unplug(instance_uuid)
            for network_id in state.network_ids():
                dhcp.stop(network_id)
            for family in ("inet", "bridge"):
                sh("nft", "delete", "table", family, setup["table"], check=False)
            if os.path.exists(f"/sys/class/net/{setup['bridge']}"):
                sh("ip", "link", "del", setup["bridge"], check=False)
            shutil.rmtree(os.path.join(CONF.state_path, "network"), ignore_errors=True)


def test_guest_gets_its_address_by_dhcp_and_its_security_group_is_enforced(
        drv, tiny_image, network):
    from nova_lite.network.host import plug
    inst = instance("net-guest")
    vif = ni.vif([network["address"]], [network["subnet"]], bridge=network["bridge"],
                 network_id="net-guest-test", rules=[ni.SSH_IN, ni.ALL_OUT])
    inst["network_info"] = [vif]
    plug.plug(inst["uuid"], inst["network_info"])
    drv.spawn(inst, tiny_image)
    lease = f"network: eth0 {network['address']}/24"
    wait_for(lambda: lease in drv.console_output(inst["uuid"])
             or "got no DHCP lease" in drv.console_output(inst["uuid"]), bool,
             BOOT_SECONDS, what="the guest's DHCP lease on its console")
    output = drv.console_output(inst["uuid"])
    assert lease in output, output[-2000:]
    assert os.path.exists(f"/sys/class/net/{vif['tap']}/brport")     # libvirt's tap

    assert blocked(network["address"])                  # the group has no ICMP rule
    plug.refresh({inst["uuid"]: [dict(vif, security_group_rules=[
        ni.SSH_IN, ni.ICMP_IN, ni.ALL_OUT])]})
    assert pings_soon(network["address"], timeout=15)
    plug.refresh({inst["uuid"]: [vif]})
    assert blocked(network["address"])

    drv.destroy(inst["uuid"])
    plug.unplug(inst["uuid"])
    assert plug.plugged() == {}
