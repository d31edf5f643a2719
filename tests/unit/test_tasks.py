"""The task table (nova_lite.objects.tasks) is complete, and the services
read it instead of keeping lists of their own: every task has start states,
steps with a message and a driver call, an undo where a step leaves something
behind, a final vm_state and a deadline that is a real option; the API's
allowed states, the compute host's RPC methods, the reconciler's nudges and
deadlines all come from it."""
import types

import pytest

from nova_lite.api.compute import server_actions
from nova_lite.compute import manager as compute_manager
from nova_lite.compute.virt import driver as driver_mod
from nova_lite.compute.virt import fake
from nova_lite.compute.virt.sim import driver as sim_driver
from nova_lite.conductor import reconciler
from nova_lite.conf import CONF
from nova_lite.db import tasks as task_db
from nova_lite.objects import states, tasks
from nova_lite.rpc import casts

ALL_VM_STATES = {v for k, v in vars(states).items()
                 if k.isupper() and isinstance(v, str) and v in states._STATUS_MAP}


@pytest.mark.parametrize("name", sorted(tasks.TASKS))
def test_every_task_is_fully_described(name):
    task = tasks.TASKS[name]
    assert task.name and task.steps
    assert task.start_states is None or set(task.start_states) <= ALL_VM_STATES
    assert task.final_vm_state in ALL_VM_STATES | {tasks.BY_POWER, tasks.UNCHANGED}
    assert task.on_failure in (tasks.UNCHANGED, states.ERROR)
    assert isinstance(getattr(CONF.conductor, task.deadline), int)
    assert task.undo is None or task.undo in task_db.UNDO
    assert task.done is None or task.done in task_db.DONE
    for step in task.steps:
        assert step.task_state and step.method
        assert tasks.of(step.task_state) == (task, step)
        if step.driver_call is not None:
            assert callable(getattr(driver_mod.ComputeDriver, step.driver_call))
        if step.undo is not None:
            assert callable(getattr(driver_mod.ComputeDriver, step.undo))
        # The status a user sees while the step runs is a real one.
        for start in task.start_states or ():
            assert states.status_from_state(start, step.task_state) != "UNKNOWN"


def test_every_task_state_belongs_to_exactly_one_step():
    seen = [s.task_state for t in tasks.TASKS.values() for s in t.steps]
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("driver_class", [fake.FakeDriver, sim_driver.SimDriver])
def test_the_fake_and_sim_drivers_implement_every_step_and_undo(driver_class):
    for task in tasks.TASKS.values():
        for step in task.steps:
            for call in filter(None, (step.driver_call, step.undo)):
                implemented = getattr(driver_class, call)
                assert implemented is not getattr(driver_mod.ComputeDriver, call), \
                    (driver_class.__name__, call)


def test_the_compute_host_answers_every_step_message():
    methods = set(compute_manager.ComputeManager.RPC_METHODS)
    for task in tasks.TASKS.values():
        for step in task.steps:
            if not step.scheduler:
                assert step.method in methods
                assert callable(getattr(compute_manager.ComputeManager, step.method))


@pytest.mark.parametrize("key, name", sorted(server_actions.SIMPLE.items()))
def test_the_apis_actions_start_the_tables_tasks(key, name):
    assert name in tasks.TASKS
    assert key in server_actions.RULES


def _instance(vm_state, task_state=None, locked=False, host="h1"):
    return types.SimpleNamespace(uuid="u-1", vm_state=vm_state, task_state=task_state,
                                 locked=locked, host=host)


@pytest.mark.parametrize("name", sorted(n for n, t in tasks.TASKS.items()
                                        if t.start_states is not None))
def test_the_api_allows_exactly_the_tables_start_states(name):
    task = tasks.TASKS[name]
    for vm_state in sorted(ALL_VM_STATES):
        reason = task_db.check_start(_instance(vm_state), task, is_admin=False)
        if vm_state in task.start_states:
            assert reason is None
        else:
            assert reason == (f"Cannot '{task.name}' instance u-1 while it is in "
                              f"vm_state {vm_state}")


def test_a_task_already_running_or_a_lock_refuses_another():
    stop = tasks.TASKS["stop"]
    assert task_db.check_start(_instance(states.ACTIVE, states.REBOOTING), stop, False) == (
        "Cannot 'stop' instance u-1 while it is in vm_state active and task_state "
        "reboot_pending")
    assert "locked" in task_db.check_start(_instance(states.ACTIVE, locked=True), stop,
                                           False)
    assert task_db.check_start(_instance(states.ACTIVE, locked=True), stop, True) is None


def _seen(vm_state, task_state, host="h1"):
    return types.SimpleNamespace(uuid="u-1", vm_state=vm_state, task_state=task_state,
                                 host=host)


@pytest.mark.parametrize("task_state", sorted(tasks.BY_TASK_STATE))
def test_the_reconciler_nudges_each_step_with_its_own_message(task_state):
    task, step = tasks.of(task_state)
    vm_state = (task.start_states or (states.ACTIVE,))[0]
    payload = {"uuid": "u-1", "host": "h1"}
    message = reconciler.nudge(_seen(vm_state, task_state), {"u-1": payload})
    if not step.redrive:
        assert message is None
        return
    assert message is not None and message.method == step.method
    expected = casts.task_step("h1", step, "u-1",
                               payload if step.payload == tasks.INSTANCE else None)
    assert message == expected


def test_final_vm_states():
    assert tasks.final_vm_state(tasks.TASKS["stop"], states.SHUTDOWN) == states.STOPPED
    confirm = tasks.TASKS["confirmResize"]
    assert tasks.final_vm_state(confirm, states.RUNNING) == states.ACTIVE
    assert tasks.final_vm_state(confirm, states.SHUTDOWN) == states.STOPPED
    assert tasks.final_vm_state(tasks.TASKS["createImage"], states.RUNNING,
                                started_from=states.PAUSED) == states.PAUSED
