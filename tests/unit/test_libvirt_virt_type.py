"""Choosing kvm or qemu: configured values win; auto trusts KVM only after
every check passed, and caches its answer."""
import pytest

from nova_lite.compute.virt.libvirt import virt_type
from tests.fixtures.libvirtd import conf_overrides


@pytest.fixture(autouse=True)
def fresh_cache():
    virt_type.reset()
    yield
    virt_type.reset()


@pytest.fixture
def checks(monkeypatch):
    """All auto checks pass unless a test says otherwise; counts probes."""
    calls = {"probe": 0}

    def probe(accel, kernel):
        calls["probe"] += 1
        assert (accel, kernel) == ("kvm", "/boot/vmlinuz-test")
        return calls.get("probe_result", True)

    monkeypatch.setattr(virt_type, "cpu_has_virt_flags", lambda: True)
    monkeypatch.setattr(virt_type, "kvm_device_works", lambda: True)
    monkeypatch.setattr(virt_type, "probe_kernel", lambda: "/boot/vmlinuz-test")
    monkeypatch.setattr(virt_type, "probe_guest_runs", probe)
    return calls


def auto():
    with conf_overrides({("libvirt", "virt_type"): "auto"}):
        return virt_type.detect()


@pytest.mark.parametrize("configured", ["kvm", "qemu"])
def test_configured_value_is_used_without_probing(checks, configured):
    with conf_overrides({("libvirt", "virt_type"): configured}):
        assert virt_type.detect() == configured
    assert checks["probe"] == 0


def test_auto_uses_kvm_when_a_probe_guest_runs(checks):
    assert auto() == "kvm"
    assert auto() == "kvm"
    assert checks["probe"] == 1          # cached per process


@pytest.mark.parametrize("failing", ["cpu_has_virt_flags", "kvm_device_works"])
def test_auto_falls_back_to_qemu_before_probing(checks, monkeypatch, failing):
    monkeypatch.setattr(virt_type, failing, lambda: False)
    assert auto() == "qemu"
    assert checks["probe"] == 0


def test_auto_falls_back_to_qemu_when_the_probe_guest_hangs(checks):
    checks["probe_result"] = False
    assert auto() == "qemu"


def test_auto_without_a_kernel_to_probe_with_is_qemu(checks, monkeypatch):
    monkeypatch.setattr(virt_type, "probe_kernel", lambda: None)
    assert auto() == "qemu"
    assert checks["probe"] == 0


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 vmx lm\n")
    assert virt_type.cpu_has_virt_flags(str(cpuinfo))
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 lm hypervisor\n")
    assert not virt_type.cpu_has_virt_flags(str(cpuinfo))
    assert not virt_type.cpu_has_virt_flags(str(tmp_path / "missing"))


def test_a_missing_kvm_device_does_not_work(tmp_path):
    assert not virt_type.kvm_device_works(str(tmp_path / "kvm"))
