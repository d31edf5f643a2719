"""The libvirt domain XML of an instance.

One x86_64 "pc" machine: ``vcpus`` CPUs, ``memory_mb`` of RAM, the qcow2
root disk as virtio vda, the config drive as a read-only virtio vdb, the
serial console appended to console.log, no graphics, and a virtio NIC per
vif of ``instance["network_info"]`` on the vif's bridge. SMBIOS says
"OpenStack Nova" as Nova does, which cloud-init looks for. The domain is named
``nova-lite-<uuid>``, has the instance's uuid, and carries a nova-lite
``<metadata>`` element: that marks it as ours.
"""
from xml.etree import ElementTree as ET

from nova_lite.conf import CONF

NAME_PREFIX = "nova-lite-"
METADATA_NS = "http://nova-lite.openstack.invalid/xmlns/instance/1.0"
METADATA_PREFIX = "nova-lite"
TCG_TB_CACHE_MIB = 32


def domain_name(instance_uuid):
    return NAME_PREFIX + instance_uuid


def build(instance, virt_type, root_disk, config_drive, console_log):
    """The domain XML (a string) for the instance payload ``instance``."""
    uuid = instance["uuid"]
    domain = ET.Element("domain", type=virt_type)
    _text(domain, "name", domain_name(uuid))
    _text(domain, "uuid", uuid)
    domain.append(_metadata(instance))
    memory_kib = str(int(instance["memory_mb"]) * 1024)
    _text(domain, "memory", memory_kib, unit="KiB")
    _text(domain, "currentMemory", memory_kib, unit="KiB")
    _text(domain, "vcpu", str(int(instance["vcpus"])))
    domain.append(_sysinfo(uuid))
    os_ = ET.SubElement(domain, "os")
    _text(os_, "type", "hvm", arch="x86_64", machine="pc")
    ET.SubElement(os_, "boot", dev="hd")
    ET.SubElement(os_, "smbios", mode="sysinfo")
    features = ET.SubElement(domain, "features")
    ET.SubElement(features, "acpi")
    ET.SubElement(features, "apic")
    if virt_type == "qemu":
        _text(ET.SubElement(features, "tcg"), "tb-cache", str(TCG_TB_CACHE_MIB), unit="MiB")
    if virt_type == "kvm":
        ET.SubElement(domain, "cpu", mode="host-passthrough")
    ET.SubElement(domain, "clock", offset="utc")
    for event, action in (("on_poweroff", "destroy"), ("on_reboot", "restart"),
                          ("on_crash", "destroy")):
        _text(domain, event, action)
    devices = ET.SubElement(domain, "devices")
    devices.append(_disk(root_disk, "qcow2", "vda"))
    devices.append(_disk(config_drive, "raw", "vdb", readonly=True))
    for vif in instance.get("network_info") or ():
        devices.append(interface(vif))
    serial = ET.SubElement(devices, "serial", type="file")
    ET.SubElement(serial, "source", path=console_log, append="on")
    ET.SubElement(serial, "target", port="0")
    ET.SubElement(devices, "memballoon", model="none")
    return ET.tostring(domain, encoding="unicode")


def interface(vif):
    """A NIC for one vif of network_info (see nova_lite/network/info.py): a tap
    named ``vif["tap"]`` (the name the host's firewall matches) on the vif's
    bridge, which nova_lite.network.host has set up before the guest starts."""
    nic = ET.Element("interface", type="bridge")
    ET.SubElement(nic, "mac", address=vif["mac"])
    ET.SubElement(nic, "source", bridge=vif["bridge"])
    ET.SubElement(nic, "target", dev=vif["tap"])
    ET.SubElement(nic, "model", type="virtio")
    if vif.get("mtu"):
        ET.SubElement(nic, "mtu", size=str(int(vif["mtu"])))
    return nic


def _metadata(instance):
    metadata = ET.Element("metadata")
    ET.register_namespace(METADATA_PREFIX, METADATA_NS)
    mark = ET.SubElement(metadata, f"{{{METADATA_NS}}}instance")
    for key in ("uuid", "name", "project_id", "user_id"):
        _text(mark, f"{{{METADATA_NS}}}{key}", str(instance.get(key) or ""))
    # The compute service that owns the domain: several may share one libvirtd.
    _text(mark, f"{{{METADATA_NS}}}host", CONF.host)
    flavor = instance.get("flavor") or {}
    flavor_name = flavor.get("name") if isinstance(flavor, dict) else str(flavor)
    _text(mark, f"{{{METADATA_NS}}}flavor", flavor_name or "")
    return metadata


def _sysinfo(uuid):
    sysinfo = ET.Element("sysinfo", type="smbios")
    system = ET.SubElement(sysinfo, "system")
    for name, value in (("manufacturer", "OpenStack Foundation"),
                        ("product", "OpenStack Nova"), ("serial", uuid), ("uuid", uuid),
                        ("family", "Virtual Machine")):
        _text(system, "entry", value, name=name)
    return sysinfo


def _disk(path, fmt, target, readonly=False):
    disk = ET.Element("disk", type="file", device="disk")
    ET.SubElement(disk, "driver", name="qemu", type=fmt)
    ET.SubElement(disk, "source", file=path)
    ET.SubElement(disk, "target", dev=target, bus="virtio")
    if readonly:
        ET.SubElement(disk, "readonly")
    return disk


def _text(parent, tag, text, **attrib):
    element = ET.SubElement(parent, tag, attrib)
    element.text = text
    return element
