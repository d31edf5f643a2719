"""Bounded tasks: the periodic pass that keeps every instance moving.

    SELECT instances with a task_state whose task_updated_at is older than
           [conductor] redrive_after        (indexed: ix_instances_task_deadline,
           FOR UPDATE SKIP LOCKED            so several conductors share the work)
        │
        ├─ past its deadline → end the task in the database with a fault:
        │     building  -> ERROR "Build timed out" (claim released)
        │     deleting  -> deleted (claim released; the host drops the guest when
        │                  its power-state report shows it)
        │     others    -> task cleared, fault recorded (power sync fixes power_state)
        └─ otherwise     → send the task's message again (every handler is
                           idempotent, so a nudge that was not needed does nothing),
                           then wait twice as long before the next nudge of that
                           task (redrive_after, 2x, 4x, ... until its deadline)

A lost message, a crashed worker or a broker outage therefore costs at most
one redrive interval, and nothing waits forever. The backoff is for a task
that is only slow because its queue is long (a flood): nudging it every pass
would add a duplicate behind the backlog each time and make it longer."""
import datetime
import logging

from sqlalchemy import select

from nova_lite.conf import CONF
from nova_lite.db import actions, instances, models
from nova_lite.db.session import transaction
from nova_lite.network import instance_ports
from nova_lite.objects import payloads, states
from nova_lite.rpc import casts, envelope
from nova_lite.rpc import publisher as publisher_mod

LOG = logging.getLogger(__name__)
I = models.Instance

ACTION_METHODS = {
    states.POWERING_OFF: "stop_instance", states.POWERING_ON: "start_instance",
    states.PAUSING: "pause_instance", states.UNPAUSING: "unpause_instance",
    states.SUSPENDING: "suspend_instance", states.RESUMING: "resume_instance",
}


def deadline(instance):
    """Seconds the instance's current task may take in all. A delete is a
    delete whatever the vm_state (a server deleted in BUILD is building and
    deleting at once)."""
    if instance.task_state == states.DELETING:
        return CONF.conductor.delete_timeout
    if instance.vm_state == states.BUILDING:
        return CONF.conductor.build_timeout
    if instance.task_state == states.IMAGE_SNAPSHOT:
        return CONF.conductor.snapshot_timeout
    return CONF.conductor.action_timeout


def nudge(instance):
    """The message that moves the instance's task on, or None if it has none."""
    task, host, uuid = instance.task_state, instance.host, instance.uuid
    if task == states.DELETING:
        # Before the BUILDING case: re-sending the build of a server being
        # deleted would spawn it again, never delete it.
        return casts.terminate_instance(host, uuid) if host else None
    if instance.vm_state == states.BUILDING:
        if task == states.SCHEDULING:
            return casts.schedule_instance(uuid)
        if host:
            return casts.build_and_run_instance(host, payloads.instance_payload(instance))
        return None
    if task in ACTION_METHODS and host:
        return casts.instance_action(host, ACTION_METHODS[task], uuid, task)
    if task in (states.REBOOTING, states.REBOOTING_HARD) and host:
        return casts.reboot_instance(host, uuid, task == states.REBOOTING_HARD, task)
    return None          # snapshots are not re-sent: they run to their deadline


def expire(session, instance, age):
    """End a task that ran out of time; True if this call did it."""
    uuid, task = instance.uuid, instance.task_state
    message = f"Task {task} timed out after {int(age)} s"
    if task == states.DELETING:
        # The user asked for it gone: gone it is, never ERROR (even in BUILD).
        return instance_ports.delete_server(session, uuid,
                                            message="Timed out: completed in the database")
    if instance.vm_state == states.BUILDING:
        done = instances.set_error(session, uuid, f"Build of instance {uuid} timed out "
                                   f"after {int(age)} s (task {task}).",
                                   expect={"vm_state": states.BUILDING, "task_state": task})
        if done:
            actions.finish(session, uuid, "create", "Error")
        return done
    done = instances.transition(session, uuid, {"task_state": task}, task_state=None)
    if done:
        instances.add_fault(session, uuid, message, 500)
    return done


class Backoff:
    """When each task (instance, task_state) was last nudged, and how often:
    its next nudge waits redrive_after * 2**n. Kept in memory (a restarted
    conductor nudges once early, which is harmless) and only for the tasks
    the last pass saw stuck."""

    def __init__(self):
        self._seen = {}          # uuid -> (task_state, nudges, not_before)

    def due(self, instance, now):
        seen = self._seen.get(instance.uuid)
        return seen is None or seen[0] != instance.task_state or now >= seen[2]

    def nudged(self, instance, now):
        seen = self._seen.get(instance.uuid)
        count = seen[1] + 1 if seen and seen[0] == instance.task_state else 1
        wait = CONF.conductor.redrive_after * 2 ** min(count, 16)
        self._seen[instance.uuid] = (instance.task_state, count,
                                     now + datetime.timedelta(seconds=wait))

    def keep_only(self, uuids):
        for uuid in set(self._seen) - set(uuids):
            del self._seen[uuid]


BACKOFF = Backoff()


def reconcile_once(now=None, backoff=BACKOFF):
    """One pass; returns (nudged, expired) counts."""
    now = now or models.utcnow()
    oldest_allowed = now - datetime.timedelta(seconds=CONF.conductor.redrive_after)
    nudges, expired = [], 0
    with transaction() as session:
        stuck = session.scalars(
            select(I).where(I.task_state.is_not(None), ~I.deleted,
                            I.task_updated_at < oldest_allowed)
            .order_by(I.task_updated_at).limit(CONF.conductor.reconcile_batch)
            .with_for_update(skip_locked=True)).all()
        for instance in stuck:
            age = (now - instance.task_updated_at).total_seconds()
            if age > deadline(instance):
                if expire(session, instance, age):
                    expired += 1
                    LOG.warning("instance %s: task %s timed out after %d s", instance.uuid,
                                instance.task_state, age)
                continue
            if not backoff.due(instance, now):
                continue
            message = nudge(instance)
            if message is not None:
                nudges.append(message)
                backoff.nudged(instance, now)
        backoff.keep_only(instance.uuid for instance in stuck)
    publisher = publisher_mod.get_publisher()
    futures = [publisher.submit_envelope(m.topic, envelope.build(
        m.method, m.args, {"request_id": "req-reconciler"})) for m in nudges]
    unsent = publisher_mod.unconfirmed(futures)      # the next pass nudges them again
    if unsent:
        LOG.warning("reconciler: %d of %d nudges not confirmed by the broker; the next "
                    "pass sends them again", unsent, len(nudges))
    if nudges or expired:
        LOG.info("reconciler: %d tasks nudged, %d timed out", len(nudges), expired)
    return len(nudges), expired
