"""Choosing the domain type: ``kvm`` (hardware virtualisation) or ``qemu``
(TCG, pure emulation: slower, but works everywhere).

[libvirt] virt_type kvm or qemu is used as configured. ``auto`` picks kvm
only when all of these hold, and qemu otherwise:

1. /proc/cpuinfo shows the vmx (Intel) or svm (AMD) flag: the CPU offers
   hardware virtualisation to this (possibly virtual) machine;
2. /dev/kvm opens and answers KVM_GET_API_VERSION and KVM_CREATE_VM;
3. a probe guest really runs under KVM: QEMU boots the host's kernel
   (/boot/vmlinuz-*) with no root disk, which must reach its "VFS: Unable to
   mount root fs" panic and make QEMU exit within PROBE_SECONDS.

/dev/kvm merely existing proves nothing: on nested or emulated machines the
device opens, even starts SeaBIOS, and then a real kernel hangs or dies with a
KVM internal error (seen on the development machine: no vmx/svm, a working
/dev/kvm, guests hanging forever). A probe that stops at the firmware passes
there, which is why the probe boots a real kernel. Without a kernel to probe
with, auto stays on qemu and says so: a slow guest is better than a hung one.

The answer is cached for the life of the process (the probe costs seconds).
"""
import fcntl
import glob
import logging
import os
import subprocess
import tempfile
import threading
import time

from nova_lite.conf import CONF

LOG = logging.getLogger(__name__)

KVM = "kvm"
QEMU = "qemu"
PROBE_SECONDS = 30
KVM_GET_API_VERSION = 0xAE00
KVM_CREATE_VM = 0xAE01
KVM_API_VERSION = 12

_cache = {}
_lock = threading.Lock()


def detect():
    """The domain type to use ("kvm" or "qemu")."""
    configured = CONF.libvirt.virt_type
    if configured != "auto":
        return configured
    with _lock:
        if "auto" not in _cache:
            kind, reason = _auto()
            LOG.info("virt_type auto: using %s (%s)", kind, reason)
            _cache["auto"] = kind
        return _cache["auto"]


def reset():
    """Forget the cached answer (tests)."""
    with _lock:
        _cache.clear()


def _auto():
    if not cpu_has_virt_flags():
        return QEMU, "no vmx/svm flag in /proc/cpuinfo"
    if not kvm_device_works():
        return QEMU, "/dev/kvm does not create a VM"
    kernel = probe_kernel()
    if kernel is None:
        return QEMU, ("no /boot/vmlinuz-* to run a probe guest with; set [libvirt] "
                      "virt_type = kvm to use KVM without probing")
    if not probe_guest_runs(KVM, kernel):
        return QEMU, f"a probe guest did not run under KVM within {PROBE_SECONDS} s"
    return KVM, "a probe guest ran under KVM"


def cpu_has_virt_flags(cpuinfo="/proc/cpuinfo"):
    try:
        with open(cpuinfo) as handle:
            for line in handle:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"vmx", "svm"})
    except OSError:
        pass
    return False


def kvm_device_works(device="/dev/kvm"):
    try:
        fd = os.open(device, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if fcntl.ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION:
            return False
        os.close(fcntl.ioctl(fd, KVM_CREATE_VM, 0))
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def probe_kernel():
    """The newest kernel in /boot, or None."""
    kernels = sorted(glob.glob("/boot/vmlinuz-*"), key=os.path.getmtime)
    return kernels[-1] if kernels else None


def probe_guest_runs(accel, kernel, timeout=PROBE_SECONDS):
    """Whether ``kernel`` boots to its no-root-fs panic under ``accel``
    ("kvm" or "tcg") within ``timeout`` seconds."""
    with tempfile.TemporaryDirectory(prefix="virt-probe-") as tmp:
        serial = os.path.join(tmp, "serial.log")
        argv = ["qemu-system-x86_64", "-machine", f"pc,accel={accel}", "-m", "96",
                "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
                "-kernel", kernel, "-append", "console=ttyS0 panic=-1 loglevel=1",
                "-serial", f"file:{serial}"]
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except FileNotFoundError:
            LOG.warning("virt_type probe: qemu-system-x86_64 is missing "
                        "(Debian package qemu-system-x86)")
            return False
        started = time.monotonic()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return False
        with open(serial, "rb") as handle:
            output = handle.read()
        LOG.debug("virt_type probe under %s finished in %.1f s", accel,
                  time.monotonic() - started)
        return b"Kernel panic" in output
