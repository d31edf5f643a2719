"""libvirt domain states -> nova_lite power states."""
import pytest

from nova_lite.compute.virt.libvirt import power
from nova_lite.objects import states

libvirt = pytest.importorskip("libvirt", reason="pip install libvirt-python (needs the "
                                                "Debian packages libvirt-dev, pkg-config)")


@pytest.mark.parametrize("libvirt_state,expected", [
    (libvirt.VIR_DOMAIN_NOSTATE, states.NOSTATE),
    (libvirt.VIR_DOMAIN_RUNNING, states.RUNNING),
    (libvirt.VIR_DOMAIN_BLOCKED, states.RUNNING),
    (libvirt.VIR_DOMAIN_PAUSED, states.PAUSED_POWER),
    (libvirt.VIR_DOMAIN_SHUTDOWN, states.SHUTDOWN),
    (libvirt.VIR_DOMAIN_SHUTOFF, states.SHUTDOWN),
    (libvirt.VIR_DOMAIN_CRASHED, states.CRASHED),
    (libvirt.VIR_DOMAIN_PMSUSPENDED, states.SUSPENDED_POWER),
])
def test_mapping(libvirt_state, expected):
    assert power.power_state(libvirt_state) == expected


def test_unknown_state_is_nostate():
    assert power.power_state(99) == states.NOSTATE


def test_own_constants_match_libvirt():
    assert (power.RUNNING, power.PAUSED, power.SHUTOFF) == (
        libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_SHUTOFF)
