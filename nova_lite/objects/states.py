"""Instance vm_state, task_state and power_state, with Nova's meanings, and the
API ``status`` derived from them exactly as Nova derives it (so clients that
poll for ACTIVE work unchanged)."""

# vm_state: the stable state the instance is in.
ACTIVE = "active"
BUILDING = "building"
PAUSED = "paused"
SUSPENDED = "suspended"
STOPPED = "stopped"
RESCUED = "rescued"
RESIZED = "resized"
SOFT_DELETED = "soft-delete"
DELETED = "deleted"
ERROR = "error"
SHELVED = "shelved"
SHELVED_OFFLOADED = "shelved_offloaded"

# task_state: the transition in progress (None when idle).
SCHEDULING = "scheduling"
SPAWNING = "spawning"
DELETING = "deleting"
REBOOTING = "reboot_pending"
REBOOTING_HARD = "reboot_pending_hard"
REBOOT_STARTED = "reboot_started"
REBOOT_STARTED_HARD = "reboot_started_hard"
POWERING_OFF = "powering-off"
POWERING_ON = "powering-on"
PAUSING = "pausing"
UNPAUSING = "unpausing"
SUSPENDING = "suspending"
RESUMING = "resuming"
IMAGE_SNAPSHOT = "image_snapshot"
REBUILDING = "rebuilding"
RESIZE_PREP = "resize_prep"
RESIZE_MIGRATING = "resize_migrating"
RESIZE_CONFIRMING = "resize_confirming"
RESIZE_REVERTING = "resize_reverting"
MIGRATING = "migrating"

# power_state: what the hypervisor says.
NOSTATE = 0
RUNNING = 1
PAUSED_POWER = 3
SHUTDOWN = 4
CRASHED = 6
SUSPENDED_POWER = 7

_STATUS_MAP = {
    ACTIVE: {
        "default": "ACTIVE",
        "rebooting": "REBOOT",
        REBOOTING: "REBOOT",
        REBOOT_STARTED: "REBOOT",
        "rebooting_hard": "HARD_REBOOT",
        REBOOTING_HARD: "HARD_REBOOT",
        REBOOT_STARTED_HARD: "HARD_REBOOT",
        "updating_password": "PASSWORD",
        REBUILDING: "REBUILD",
        "rebuild_block_device_mapping": "REBUILD",
        "rebuild_spawning": "REBUILD",
        MIGRATING: "MIGRATING",
        RESIZE_PREP: "RESIZE",
        "resize_migrating": "RESIZE",
        "resize_migrated": "RESIZE",
        "resize_finish": "RESIZE",
    },
    BUILDING: {"default": "BUILD"},
    STOPPED: {
        "default": "SHUTOFF",
        RESIZE_PREP: "RESIZE",
        "resize_migrating": "RESIZE",
        "resize_migrated": "RESIZE",
        "resize_finish": "RESIZE",
        REBUILDING: "REBUILD",
    },
    RESIZED: {"default": "VERIFY_RESIZE", "resize_reverting": "REVERT_RESIZE"},
    PAUSED: {"default": "PAUSED", MIGRATING: "MIGRATING"},
    SUSPENDED: {"default": "SUSPENDED"},
    RESCUED: {"default": "RESCUE"},
    ERROR: {"default": "ERROR", REBUILDING: "REBUILD"},
    DELETED: {"default": "DELETED"},
    SOFT_DELETED: {"default": "SOFT_DELETED"},
    SHELVED: {"default": "SHELVED"},
    SHELVED_OFFLOADED: {"default": "SHELVED_OFFLOADED"},
}


def status_from_state(vm_state, task_state=None):
    """The API status of an instance (Nova's ``status_from_state``)."""
    task_map = _STATUS_MAP.get(vm_state, {"default": "UNKNOWN"})
    return task_map.get(task_state, task_map["default"])


def states_for_status(status):
    """(vm_state, task_states or None) pairs an API ``status`` filter matches."""
    status = status.upper()
    matches = []
    for vm_state, task_map in _STATUS_MAP.items():
        if task_map["default"] == status:
            others = [t for t, s in task_map.items() if t != "default" and s != status]
            matches.append((vm_state, None, others))
        tasks = [t for t, s in task_map.items() if t != "default" and s == status]
        if tasks:
            matches.append((vm_state, tasks, None))
    return matches
