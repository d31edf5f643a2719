"""This host's resources as the scheduler sees them: CPUs and RAM from
libvirt's node info, disk from the filesystem holding instances_path."""
import os
import socket

from nova_lite.compute.virt.libvirt import disks
from nova_lite.conf import CONF

HYPERVISOR_TYPE = "QEMU"    # as Nova reports it, for kvm and qemu domains alike
GiB = 1024 ** 3


def resources(conn):
    _model, memory_mb, cpus, *_ = conn.getInfo()
    return {
        "vcpus": cpus,
        "memory_mb": memory_mb,
        "local_gb": local_gb(disks.instances_path()),
        "hypervisor_hostname": CONF.host,
        "hypervisor_type": HYPERVISOR_TYPE,
        "hypervisor_version": conn.getVersion(),
        "host_ip": host_ip(),
    }


def local_gb(path):
    """Size in GiB of the filesystem ``path`` is (or will be) on."""
    while not os.path.exists(path):
        path = os.path.dirname(path)
    stat = os.statvfs(path)
    return stat.f_blocks * stat.f_frsize // GiB


def host_ip():
    """The address other hosts reach this one at: the source address of the
    default route (no packet is sent), else the hostname's address."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))     # TEST-NET-1: routing decision only
            return probe.getsockname()[0]
        except OSError:
            pass
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"
