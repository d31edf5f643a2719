"""The messaging contract: every method each service consumes, in one place.

A function here only builds a :class:`Message`; the caller sends it with
``send(message, context)`` (workers, after their own commit) or puts it in the
outbox with ``outbox.enqueue(session, message, context)`` (the API, inside the
transaction that wrote the rows it is about). Handlers live in the service's
manager module under the same method name and take the same arguments."""
from typing import NamedTuple

from nova_lite.rpc import publisher, topology

# What becomes of a message that cannot be handled (its retries and deliveries
# spent, or poison), by method; any method not named here is parked in
# <queue>.dlq for an operator (nova-lite-manage dlq). See doc/messaging.md.
DROP = "drop"          # a periodic report: the host's next one supersedes it, and
                       # replaying a stale one later would be wrong (a heartbeat
                       # of a host that has since died, a power state since changed)
REDRIVE = "redrive"    # nothing periodic repeats it: parked, then sent back to its
                       # queue by the conductor (dead_letters.redrive)
ON_DEAD_LETTER = {
    "compute_node_update": DROP,
    "compute_nodes_update": DROP,
    "power_states": DROP,
    "network_changed": REDRIVE,
    # A host asks again for a group it still lacks at its next network sync,
    # and answers "unwanted" again at the next word about the group.
    "security_group_members_wanted": DROP,
    "security_group_members_unwanted": DROP,
}


class Message(NamedTuple):
    topic: str
    method: str
    args: dict


def send(message, context=None):
    publisher.cast(message.topic, message.method, message.args, context)


# -- conductor ---------------------------------------------------------------
def build_instance(instance_uuid):
    """What the API's outbox sends for a new instance. The scheduler takes it
    directly (its batch checks that the instance still waits to be placed);
    the conductor's build_instance handler only forwards older messages."""
    return schedule_instance(instance_uuid)


def build_instances(instance_uuids):
    """The outbox messages for the instances of one create request: one
    message for a multi-create (its instances are placed together, all or
    nothing), the single-instance message otherwise."""
    uuids = list(instance_uuids)
    if len(uuids) == 1:
        return [build_instance(uuids[0])]
    return [schedule_instances(uuids)] if uuids else []


def schedule_failed(instance_uuid, reason):
    return Message("conductor", "schedule_failed",
                   {"instance_uuid": instance_uuid, "reason": reason})


def instance_spawned(instance_uuid, host, power_state):
    return Message("conductor", "instance_spawned",
                   {"instance_uuid": instance_uuid, "host": host,
                    "power_state": power_state})


def instance_spawn_failed(instance_uuid, host, reason, details=None):
    return Message("conductor", "instance_spawn_failed",
                   {"instance_uuid": instance_uuid, "host": host, "reason": reason,
                    "details": details})


def instances_spawned(reports):
    """Many builds at once: [{"instance_uuid", "host", "power_state"}] (a
    process of simulated hosts coalesces its hosts' reports)."""
    return Message("conductor", "instances_spawned", {"reports": list(reports)})


def instances_terminated(reports):
    """Many deletes at once: [{"instance_uuid", "host"}]."""
    return Message("conductor", "instances_terminated", {"reports": list(reports)})


def instance_terminated(instance_uuid, host):
    return Message("conductor", "instance_terminated",
                   {"instance_uuid": instance_uuid, "host": host})


def instance_action_done(instance_uuid, host, task_state, vm_state, power_state):
    return Message("conductor", "instance_action_done",
                   {"instance_uuid": instance_uuid, "host": host, "task_state": task_state,
                    "vm_state": vm_state, "power_state": power_state})


def instance_action_failed(instance_uuid, host, task_state, reason, details=None):
    return Message("conductor", "instance_action_failed",
                   {"instance_uuid": instance_uuid, "host": host, "task_state": task_state,
                    "reason": reason, "details": details})


def snapshot_done(instance_uuid, host, image_id, error=None):
    return Message("conductor", "snapshot_done",
                   {"instance_uuid": instance_uuid, "host": host, "image_id": image_id,
                    "error": error})


def power_states(host, observed):
    """What the host's hypervisor says each of its guests is doing {uuid: power_state}."""
    return Message(topology.REPORTS_TOPIC, "power_states",
                   {"host": host, "observed": observed})


def compute_node_update(host, resources):
    return Message(topology.REPORTS_TOPIC, "compute_node_update",
                   {"host": host, "resources": resources})


def compute_nodes_update(reports):
    """Many hosts at once: [{"host", "resources"}, ...] (simulated hosts)."""
    return Message(topology.REPORTS_TOPIC, "compute_nodes_update",
                   {"reports": list(reports)})


def network_changed(instance_uuids, security_group_ids):
    """Rules, group membership or floating IPs changed: refresh the hosts."""
    return Message("conductor", "network_changed",
                   {"instance_uuids": list(instance_uuids),
                    "security_group_ids": list(security_group_ids)})


def security_group_members_wanted(host, security_group_ids):
    """The host's guests' rules name these groups and it lacks their sets."""
    return Message("conductor", "security_group_members_wanted",
                   {"host": host, "security_group_ids": sorted(security_group_ids)})


def security_group_members_unwanted(host, security_group_ids):
    """The host heard of groups none of its guests' rules name any more."""
    return Message("conductor", "security_group_members_unwanted",
                   {"host": host, "security_group_ids": sorted(security_group_ids)})


# -- scheduler ---------------------------------------------------------------
def schedule_instance(instance_uuid):
    return Message("scheduler", "schedule_instance", {"instance_uuid": instance_uuid})


def schedule_instances(instance_uuids):
    """The instances of one multi-create request, in one message."""
    return Message("scheduler", "schedule_instances",
                   {"instance_uuids": list(instance_uuids)})


# -- compute.<host> ------------------------------------------------------------
def build_and_run_instance(host, instance):
    return Message(topology.compute_topic(host), "build_and_run_instance",
                   {"instance": instance})


def terminate_instance(host, instance_uuid):
    return Message(topology.compute_topic(host), "terminate_instance",
                   {"instance_uuid": instance_uuid})


def task_step(host, step, instance_uuid, instance=None):
    """The message that runs ``step`` (nova_lite.objects.tasks) of an
    instance's task on its host: stop_instance, reboot_instance,
    rebuild_instance, resize_instance, ... A step whose payload is the whole
    instance carries it (``instance``: objects.payloads.instance_payload).
    A build's steps are the scheduler's request and build_and_run_instance,
    a delete's terminate_instance: their messages as those functions make them."""
    if step.scheduler:
        return schedule_instance(instance_uuid)
    if step.method == "build_and_run_instance":
        return build_and_run_instance(host, instance)
    if step.method == "terminate_instance":
        return terminate_instance(host, instance_uuid)
    args = {"instance_uuid": instance_uuid, "task_state": step.task_state}
    if instance is not None:
        args["instance"] = instance
    return Message(topology.compute_topic(host), step.method, args)


def snapshot_instance(host, instance_uuid, image_id):
    return Message(topology.compute_topic(host), "snapshot_instance",
                   {"instance_uuid": instance_uuid, "image_id": image_id})


def get_console_output(host, instance_uuid):
    """A call (see rpc.call): returns the guest's console log as text."""
    return Message(topology.compute_topic(host), "get_console_output",
                   {"instance_uuid": instance_uuid})


def update_security_group_members(host, pass_number, updates, snapshots):
    """Members of remote groups changed (nova_lite.network.membership):
    ``updates`` {group: {"add": [addresses], "remove": [...]}}, ``snapshots``
    {group: [every member]}, both as of fan-out pass ``pass_number``."""
    return Message(topology.compute_topic(host), "update_security_group_members",
                   {"pass_number": pass_number, "updates": updates,
                    "snapshots": snapshots})


def refresh_network(host, instances):
    """Re-apply firewall, NAT and DHCP entries for {instance_uuid: network_info}."""
    return Message(topology.compute_topic(host), "refresh_network",
                   {"instances": instances})
