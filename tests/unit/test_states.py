import pytest

from nova_lite.objects import states


@pytest.mark.parametrize("vm_state, task_state, status", [
    ("building", "scheduling", "BUILD"),
    ("building", "spawning", "BUILD"),
    ("active", None, "ACTIVE"),
    ("active", "deleting", "ACTIVE"),
    ("active", "reboot_pending", "REBOOT"),
    ("active", "reboot_started_hard", "HARD_REBOOT"),
    ("stopped", None, "SHUTOFF"),
    ("paused", None, "PAUSED"),
    ("suspended", None, "SUSPENDED"),
    ("error", None, "ERROR"),
    ("deleted", None, "DELETED"),
    ("no-such-state", None, "UNKNOWN"),
])
def test_status_is_derived_as_nova_derives_it(vm_state, task_state, status):
    assert states.status_from_state(vm_state, task_state) == status


def test_status_filter_matches_exactly_the_states_that_show_it():
    every = [(vm, task) for vm, tasks in states._STATUS_MAP.items()
             for task in [None, *[t for t in tasks if t != "default"]]]
    for status in {states.status_from_state(vm, t) for vm, t in every}:
        clauses = states.states_for_status(status)
        for vm, task in every:
            shown = states.status_from_state(vm, task) == status
            matched = any(vm == c_vm and (task in c_tasks if c_tasks else
                                          task not in (c_excluded or []))
                          for c_vm, c_tasks, c_excluded in clauses)
            assert shown == matched, (status, vm, task)
