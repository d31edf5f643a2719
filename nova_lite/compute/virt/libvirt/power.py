"""libvirt domain states -> nova_lite power states, as Nova maps them.

As in Nova, a suspended (managed-saved) guest is SHUTDOWN: its domain is
shut off, and the saved memory is restored by the next start.
"""
from nova_lite.objects import states

# virDomainState values (libvirt.VIR_DOMAIN_*), so this module needs no libvirt.
NOSTATE, RUNNING, BLOCKED, PAUSED, SHUTDOWN, SHUTOFF, CRASHED, PMSUSPENDED = range(8)

POWER_STATES = {
    NOSTATE: states.NOSTATE,
    RUNNING: states.RUNNING,
    BLOCKED: states.RUNNING,
    PAUSED: states.PAUSED_POWER,
    SHUTDOWN: states.SHUTDOWN,       # shutting down
    SHUTOFF: states.SHUTDOWN,
    CRASHED: states.CRASHED,
    PMSUSPENDED: states.SUSPENDED_POWER,
}


NAMES = {NOSTATE: "in no state", RUNNING: "running", BLOCKED: "running", PAUSED: "paused",
         SHUTDOWN: "shutting down", SHUTOFF: "shut off", CRASHED: "crashed",
         PMSUSPENDED: "suspended by the guest"}


def describe(libvirt_state):
    return NAMES.get(libvirt_state, f"in libvirt state {libvirt_state}")


def power_state(libvirt_state):
    """The power state of a domain whose ``dom.state()[0]`` is ``libvirt_state``."""
    return POWER_STATES.get(libvirt_state, states.NOSTATE)
