"""Every task an instance runs, described once (like Ironic's state machine).

A task is what one API request starts: its name (the word in os-instance-
actions and in Nova's 409 "Cannot 'reboot' instance <uuid> while it is in
vm_state stopped"), the vm_states it may start from, its steps in order, the
vm_state it ends in, what a failed step leaves, and its deadline. A step is
one task_state: the message that runs it (a method of ``nova_lite.rpc.casts``
on the instance's host, or the scheduler), the driver call the host makes,
and what undoes it. Everyone reads this table:

    api/compute/server_actions.py   allowed vm_states (409), first task_state,
                                    the action name it records, the message
    compute/manager.py              message -> driver call, undo on failure,
                                    the vm_state it reports at the end
    conductor/manager.py            a step done -> the next step or the end;
                                    a step failed -> its undo (db/tasks.py)
    conductor/reconciler.py         which message re-drives a step, which
                                    deadline bounds it, how it ends when late

Adding an action is a row here plus its driver call (and, for a task that
holds resources, its database undo in db/tasks.py). State changes themselves
stay compare-and-sets (``db/instances.transition``).

This module imports nothing of nova_lite but the states: compute hosts read
it too."""
import dataclasses

from nova_lite.objects import states

# Final vm_states that are not a fixed state.
BY_POWER = "by-power"      # ACTIVE if the guest runs when the step ends, else STOPPED
UNCHANGED = "unchanged"    # what it was when the task started (a snapshot)

# The payload a step's message carries (rpc.casts.task_step).
UUID = "uuid"              # the instance's uuid and the task_state
INSTANCE = "instance"      # the whole instance (objects.payloads.instance_payload)


@dataclasses.dataclass(frozen=True)
class Step:
    task_state: str
    method: str                 # the message that runs it (compute.<host> unless
                                # ``scheduler``)
    driver_call: str | None     # what the host asks of its virt driver
    undo: str | None = None     # the driver call that undoes it after a failure
    driver_args: tuple = ()     # (name, value) pairs passed to driver_call
    payload: str = UUID
    image: bool = False         # the host fetches the instance's image first
                                # (driver_call(instance, image))
    redrive: bool = True        # the reconciler may send its message again
    scheduler: bool = False     # the message goes to the scheduler, not a host


@dataclasses.dataclass(frozen=True)
class Task:
    name: str                   # os-instance-actions' name, and the 409's word
    start_states: tuple         # vm_states it may start from (None: any)
    steps: tuple
    final_vm_state: str
    deadline: str               # the [conductor] option bounding it, in seconds
    on_failure: str = UNCHANGED   # vm_state a failed or late step leaves
    undo: str | None = None     # the database undo (db/tasks.py UNDO) after a failure
    done: str | None = None     # the database change (db/tasks.py DONE) at the end

    @property
    def first(self):
        return self.steps[0]

    def step(self, task_state):
        return next((s for s in self.steps if s.task_state == task_state), None)

    def after(self, task_state):
        """The step after ``task_state``'s, or None if it is the last."""
        index = [s.task_state for s in self.steps].index(task_state)
        return self.steps[index + 1] if index + 1 < len(self.steps) else None


_HARD_REBOOTABLE = (states.ACTIVE, states.STOPPED, states.PAUSED, states.SUSPENDED,
                    states.ERROR)


def _simple(name, start, task_state, method, driver_call, final, **step):
    return Task(name, start, (Step(task_state, method, driver_call, **step),), final,
                "action_timeout")


# Keyed by the name the API uses for it (both reboots are "reboot" to users).
TASKS = {
    # Build and delete: the scheduler's batch and db/build_results.py run
    # their ends (thousands at once); the table gives their steps, messages
    # and deadlines.
    "create": Task("create", (states.BUILDING,), (
        Step(states.SCHEDULING, "schedule_instance", None, scheduler=True),
        Step(states.SPAWNING, "build_and_run_instance", "spawn", undo="destroy",
             payload=INSTANCE, image=True),
    ), states.ACTIVE, "build_timeout", on_failure=states.ERROR),
    "delete": Task("delete", None, (
        Step(states.DELETING, "terminate_instance", "destroy"),
    ), states.DELETED, "delete_timeout"),
    "stop": _simple("stop", (states.ACTIVE, states.ERROR), states.POWERING_OFF,
                    "stop_instance", "power_off", states.STOPPED),
    "start": _simple("start", (states.STOPPED,), states.POWERING_ON, "start_instance",
                     "power_on", states.ACTIVE),
    "pause": _simple("pause", (states.ACTIVE,), states.PAUSING, "pause_instance", "pause",
                     states.PAUSED),
    "unpause": _simple("unpause", (states.PAUSED,), states.UNPAUSING, "unpause_instance",
                       "unpause", states.ACTIVE),
    "suspend": _simple("suspend", (states.ACTIVE,), states.SUSPENDING, "suspend_instance",
                       "suspend", states.SUSPENDED),
    "resume": _simple("resume", (states.SUSPENDED,), states.RESUMING, "resume_instance",
                      "resume", states.ACTIVE),
    "reboot": _simple("reboot", (states.ACTIVE,), states.REBOOTING, "reboot_instance",
                      "reboot", states.ACTIVE, driver_args=(("hard", False),)),
    "reboot_hard": _simple("reboot", _HARD_REBOOTABLE, states.REBOOTING_HARD,
                           "reboot_instance", "reboot", states.ACTIVE,
                           driver_args=(("hard", True),)),
    # The snapshot's end is its own report (snapshot_done: the image too);
    # an upload is never sent twice.
    "createImage": Task("createImage", (states.ACTIVE, states.STOPPED, states.PAUSED,
                                        states.SUSPENDED), (
        Step(states.IMAGE_SNAPSHOT, "snapshot_instance", "snapshot", redrive=False),
    ), UNCHANGED, "snapshot_timeout"),
    "rebuild": Task("rebuild", (states.ACTIVE, states.STOPPED, states.ERROR), (
        Step(states.REBUILDING, "rebuild_instance", "rebuild", payload=INSTANCE,
             image=True),
    ), BY_POWER, "action_timeout", on_failure=states.ERROR),
    # Resize on one host: the API claims the new flavor (the old allocation
    # moves to the migration record, as Nova's placement does), the host
    # changes the guest; confirm drops the old allocation, revert the new.
    "resize": Task("resize", (states.ACTIVE, states.STOPPED), (
        Step(states.RESIZE_MIGRATING, "resize_instance", "resize", undo="revert_resize",
             payload=INSTANCE),
    ), states.RESIZED, "action_timeout", undo="resize_failed", done="resize_finished"),
    "confirmResize": Task("confirmResize", (states.RESIZED,), (
        Step(states.RESIZE_CONFIRMING, "confirm_resize", "confirm_resize"),
    ), BY_POWER, "action_timeout", done="resize_confirmed"),
    "revertResize": Task("revertResize", (states.RESIZED,), (
        Step(states.RESIZE_REVERTING, "revert_resize", "revert_resize", payload=INSTANCE),
    ), BY_POWER, "action_timeout", done="resize_reverted"),
}

# task_state -> (task, step): every task_state belongs to one task.
BY_TASK_STATE = {step.task_state: (task, step) for task in TASKS.values()
                 for step in task.steps}
# The compute methods that run a step (reboot_instance runs two).
HOST_METHODS = tuple(sorted({step.method for _, step in BY_TASK_STATE.values()
                             if not step.scheduler}))


def of(task_state):
    """(task, step) of a task_state, or (None, None) if it is no task's."""
    return BY_TASK_STATE.get(task_state, (None, None))


def final_vm_state(task, power_state, started_from=None):
    """The vm_state ``task`` ends in, given the guest's power state then."""
    if task.final_vm_state == BY_POWER:
        return states.ACTIVE if power_state == states.RUNNING else states.STOPPED
    if task.final_vm_state == UNCHANGED:
        return started_from
    return task.final_vm_state


def conflict_message(instance_uuid, name, vm_state, task_state=None):
    """Nova's words for an action in a state it does not allow."""
    return (f"Cannot '{name}' instance {instance_uuid} while it is in vm_state {vm_state}"
            + (f" and task_state {task_state}" if task_state else ""))
