"""The libvirt domain XML an instance gets."""
from xml.etree import ElementTree as ET

import pytest

from nova_lite.compute.virt.libvirt import domain_xml
from tests.fixtures.libvirtd import conf_overrides

UUID = "0b7ae1a4-3c64-4a4e-9d43-6d1f0c0e2a11"
INSTANCE = {"uuid": UUID, "name": "web <1>", "vcpus": 2, "memory_mb": 128,
            "project_id": "p1", "user_id": "u1", "flavor": {"name": "m1.tiny"}}


VIF = {"port_id": "1a2b3c4d-5e6f", "mac": "fa:16:3e:01:02:03", "network_id": "n1",
       "bridge": "nlbr-1a2b3c4d", "mtu": 1450, "tap": "tap1a2b3c4d-5e"}


def build(virt_type="qemu", network_info=None):
    instance = dict(INSTANCE, network_info=network_info) if network_info is not None \
        else INSTANCE
    with conf_overrides({}):
        xml = domain_xml.build(instance, virt_type, "/i/x/disk", "/i/x/disk.config",
                               "/i/x/console.log")
    return ET.fromstring(xml)


def test_identity_and_size():
    dom = build()
    assert dom.get("type") == "qemu"
    assert dom.findtext("name") == f"nova-lite-{UUID}"
    assert dom.findtext("uuid") == UUID
    assert dom.findtext("vcpu") == "2"
    assert dom.find("memory").get("unit") == "KiB"
    assert dom.findtext("memory") == str(128 * 1024)
    assert dom.findtext("currentMemory") == str(128 * 1024)
    assert dom.find("cpu") is None


def test_kvm_domains_pass_the_host_cpu_through():
    dom = build("kvm")
    assert dom.get("type") == "kvm"
    assert dom.find("cpu").get("mode") == "host-passthrough"


def test_disks_root_then_read_only_config_drive():
    disks = build().findall("devices/disk")
    assert [d.find("source").get("file") for d in disks] == ["/i/x/disk", "/i/x/disk.config"]
    assert [d.find("driver").get("type") for d in disks] == ["qcow2", "raw"]
    assert [d.find("target").get("dev") for d in disks] == ["vda", "vdb"]
    assert {d.find("target").get("bus") for d in disks} == {"virtio"}
    assert disks[0].find("readonly") is None
    assert disks[1].find("readonly") is not None


def test_serial_console_appends_to_the_log_file():
    serial = build().find("devices/serial")
    assert serial.get("type") == "file"
    assert serial.find("source").get("path") == "/i/x/console.log"
    assert serial.find("source").get("append") == "on"


def test_no_nic_without_network_info():
    assert build().find("devices/interface") is None
    assert build(network_info=[]).find("devices/interface") is None


def test_one_virtio_nic_per_vif_on_its_bridge_and_tap():
    nic = build(network_info=[VIF]).find("devices/interface")
    assert nic.get("type") == "bridge"
    assert nic.find("mac").get("address") == "fa:16:3e:01:02:03"
    assert nic.find("source").get("bridge") == "nlbr-1a2b3c4d"
    assert nic.find("target").get("dev") == "tap1a2b3c4d-5e"
    assert nic.find("model").get("type") == "virtio"
    assert nic.find("mtu").get("size") == "1450"


def test_nics_keep_the_order_of_network_info():
    second = dict(VIF, port_id="9f8e", mac="fa:16:3e:0a:0b:0c", bridge="nlbr-9f8e7d6c",
                  tap="tap9f8e-7d", mtu=None)
    nics = build(network_info=[VIF, second]).findall("devices/interface")
    assert [n.find("mac").get("address") for n in nics] == [VIF["mac"], second["mac"]]
    assert [n.find("source").get("bridge") for n in nics] == [VIF["bridge"], "nlbr-9f8e7d6c"]
    assert nics[1].find("mtu") is None


def test_marked_as_ours_with_escaped_instance_data():
    mark = build().find(f"metadata/{{{domain_xml.METADATA_NS}}}instance")
    assert mark.findtext(f"{{{domain_xml.METADATA_NS}}}uuid") == UUID
    assert mark.findtext(f"{{{domain_xml.METADATA_NS}}}name") == "web <1>"
    assert mark.findtext(f"{{{domain_xml.METADATA_NS}}}flavor") == "m1.tiny"


def test_smbios_says_openstack_nova():
    entries = {e.get("name"): e.text for e in build().findall("sysinfo/system/entry")}
    assert entries["product"] == "OpenStack Nova"
    assert entries["uuid"] == UUID


@pytest.mark.parametrize("memory_mb,vcpus", [(96, 1), (4096, 8)])
def test_sizes_follow_the_flavor(memory_mb, vcpus):
    with conf_overrides({}):
        dom = ET.fromstring(domain_xml.build(dict(INSTANCE, memory_mb=memory_mb, vcpus=vcpus),
                                             "qemu", "/d", "/c", "/l"))
    assert int(dom.findtext("memory")) == memory_mb * 1024
    assert dom.findtext("vcpu") == str(vcpus)
