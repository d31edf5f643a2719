"""Bounded tasks: the periodic pass that keeps every instance moving.

    1. expire   SELECT tasks past their deadline, oldest first     (no lock;
                   ix_instances_task_deadline; up to reconcile_batch)
                each in its own short compare-and-set transaction, if its
                task is still the one seen:
                  building  -> ERROR "Build timed out" (claim released)
                  deleting  -> deleted (claim released; the host drops the guest
                               when its power-state report shows it)
                  others    -> task cleared, fault recorded (power sync fixes
                               power_state)
    2. nudge    SELECT tasks older than redrive_after, not past their deadline,
                   whose next nudge is due, oldest first            (no lock;
                   same index; up to reconcile_batch)
                each stamped in its own compare-and-set (task_nudged_at,
                   task_nudges; SKIP LOCKED, never waits), if its task is
                   still the one seen and nobody stamped it since
                then, with no transaction open, the messages of the tasks this
                   pass stamped are built (build payloads: one batched
                   network_info lookup) and sent; a nudge the broker did not
                   confirm is unstamped, so the next pass sends it again

Expiry runs first and has its own query, so a backlog of tasks to nudge can
never keep a task from ending by its deadline. No instance row is locked
while anything slow happens: reads take no lock, each change is one short
transaction, and messages are built and sent after every stamp committed.

Every handler is idempotent, so a nudge that was not needed does nothing;
the stamp makes each nudge happen once however many conductors run, and
never for a task that moved on. A lost message, a crashed worker or a broker
outage therefore costs a redrive interval, and nothing waits forever. After
a nudge the task waits twice as long before the next (redrive_after, 2x,
4x, ... until its deadline): a task that is only slow because its queue is
long (a flood) would otherwise get a duplicate behind the backlog every pass
and make it longer. A task with no message to send (a snapshot, a build
with no host) is stamped too, so it backs off like the others instead of
filling every batch until its deadline."""
import dataclasses
import datetime
import logging

from sqlalchemy import DateTime, case, cast, func, literal, or_, select

from nova_lite.conf import CONF
from nova_lite.db import actions, instances, models
from nova_lite.db import tasks as task_db
from nova_lite.db.session import reader, transaction
from nova_lite.network import info as network_info
from nova_lite.network import instance_ports
from nova_lite.objects import states, tasks
from nova_lite.rpc import casts, envelope
from nova_lite.rpc import publisher as publisher_mod

LOG = logging.getLogger(__name__)
I = models.Instance

# What a pass reads of each task: enough to decide, and to compare-and-set
# on (the task is the one seen if its task_state and task_updated_at are).
SEEN = (I.uuid, I.vm_state, I.task_state, I.host, I.task_updated_at, I.task_nudged_at,
        I.task_nudges)
MAX_DOUBLINGS = 16


# -- which tasks (SQL, served by ix_instances_task_deadline) ---------------------------
def _seconds(amount):
    return func.make_interval(0, 0, 0, 0, 0, 0, amount)


def _at(moment):
    """A timestamp in SQL, typed (so ``_at(now) - _seconds(...)`` is one)."""
    return cast(literal(moment), DateTime(timezone=True))


def _timeout(task):
    return getattr(CONF.conductor, task.deadline)


def _timeouts():
    """Every task's deadline in seconds (nova_lite.objects.tasks)."""
    return [_timeout(task) for task in tasks.TASKS.values()]


def _deadline():
    """SQL: seconds the instance's current task may take in all, as its task
    says (nova_lite.objects.tasks). A delete is a delete whatever the
    vm_state (a server deleted in BUILD is building and deleting at once);
    any other task of a server in BUILD is its build."""
    by_state = [(I.task_state == task_state, _timeout(task))
                for task_state, (task, _) in tasks.BY_TASK_STATE.items()
                if task_state != states.DELETING]
    return case((I.task_state == states.DELETING, _timeout(tasks.TASKS["delete"])),
                (I.vm_state == states.BUILDING, _timeout(tasks.TASKS["create"])),
                *by_state, else_=CONF.conductor.action_timeout)


def _past_deadline(now):
    return I.task_updated_at < _at(now) - _seconds(_deadline())


def _nudge_due(now):
    """SQL: never nudged (this task: a stamp older than the task is an
    earlier task's), or nudged redrive_after * 2**nudges ago."""
    wait = CONF.conductor.redrive_after * func.power(2, func.least(I.task_nudges,
                                                                   MAX_DOUBLINGS))
    return or_(I.task_nudged_at.is_(None), I.task_nudged_at < I.task_updated_at,
               I.task_nudged_at <= _at(now) - _seconds(wait))


def _tasks_older_than(now, seconds):
    """The live tasks that started more than ``seconds`` before ``now``, oldest
    first: a range of ix_instances_task_deadline, walked in its order."""
    return (select(*SEEN)
            .where(I.task_state.is_not(None), ~I.deleted,
                   I.task_updated_at < now - datetime.timedelta(seconds=seconds))
            .order_by(I.task_updated_at).limit(CONF.conductor.reconcile_batch))


def overdue_query(now):
    """Tasks past their deadline. The plain age bound (the shortest deadline)
    is what the index serves; the exact deadline filters within it."""
    return _tasks_older_than(now, min(_timeouts())).where(_past_deadline(now))


def stalled_query(now):
    """Tasks that have not moved for redrive_after and are due a nudge (those
    past their deadline are the expiry's, even if it has not reached them)."""
    return (_tasks_older_than(now, CONF.conductor.redrive_after)
            .where(~_past_deadline(now), _nudge_due(now)))


def overdue(now):
    with reader() as session:
        return session.execute(overdue_query(now)).all()


def stalled(now):
    with reader() as session:
        return session.execute(stalled_query(now)).all()


# -- 1. expire --------------------------------------------------------------------------
def _same_task(seen):
    """What ``instances.transition`` expects for the task ``seen`` to be still on."""
    return {"task_state": seen.task_state, "task_updated_at": seen.task_updated_at}


def expire(session, seen, age):
    """End a task that ran out of time, if it is still the one seen; True if
    this call did it: a delete completes, a build ends in ERROR, any other
    step is undone as its task says (db/tasks.py: its database undo, its
    on_failure vm_state, a fault). Lock order as everywhere: node, then
    instance row."""
    uuid, task = seen.uuid, seen.task_state
    if task == states.DELETING:
        # The user asked for it gone: gone it is, never ERROR (even in BUILD).
        return instance_ports.delete_server(session, uuid, task_state=states.DELETING,
                                            message="Timed out: completed in the database")
    if seen.vm_state == states.BUILDING:
        done = instances.set_error(session, uuid, f"Build of instance {uuid} timed out "
                                   f"after {int(age)} s (task {task}).",
                                   expect={"vm_state": states.BUILDING, **_same_task(seen)})
        if done:
            actions.finish(session, uuid, "create", "Error")
        return done
    reason = f"Task {task} timed out after {int(age)} s"
    if tasks.of(task)[0] is None:           # no task's step: just cleared
        done = instances.transition(session, uuid, _same_task(seen), task_state=None)
        if done:
            instances.add_fault(session, uuid, reason, 500)
        return done
    return task_db.step_failed(session, uuid, task, reason, expect=_same_task(seen))


def expire_overdue(now):
    """End every task past its deadline (a batch); how many this call ended."""
    expired = 0
    for seen in overdue(now):
        age = (now - seen.task_updated_at).total_seconds()
        with transaction() as session:          # one instance: its locks last this long
            done = expire(session, seen, age)
        if done:
            expired += 1
            LOG.warning("instance %s: task %s timed out after %d s", seen.uuid,
                        seen.task_state, age)
    return expired


# -- 2. nudge ---------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Stamp:
    """A nudge this pass owns: the task as seen, and when it stamped it."""
    seen: object
    nudged_at: datetime.datetime


def _nudges_so_far(seen):
    """Nudges of this task before now (a stamp older than the task is an
    earlier task's)."""
    if seen.task_nudged_at is None or seen.task_nudged_at < seen.task_updated_at:
        return 0
    return seen.task_nudges


def _stamp(seen, now):
    """Claim the nudge of the task ``seen`` (its own short transaction); a
    Stamp, or None if the task moved on or another reconciler has it."""
    expect = {**_same_task(seen), "host": seen.host, "task_nudged_at": seen.task_nudged_at}
    with transaction() as session:
        if instances.stamp_nudge(session, seen.uuid, expect, now, _nudges_so_far(seen) + 1):
            return Stamp(seen, now)
    return None


def _unstamp(stamp):
    """Give back a nudge the broker did not confirm, so the next pass sends it
    again (unless the task moved or was stamped since, or its row is held
    right now: then it waits out its backoff, as a lost message would)."""
    seen = stamp.seen
    with transaction() as session:
        instances.stamp_nudge(session, seen.uuid, {**_same_task(seen),
                                                   "task_nudged_at": stamp.nudged_at},
                              seen.task_nudged_at, seen.task_nudges)


def _carries_instance(task_state):
    step = tasks.of(task_state)[1]
    return step is not None and step.payload == tasks.INSTANCE


def _payloads(stamps):
    """{uuid: payload} of the stamped steps on a host whose message carries
    the whole instance (a build's, a rebuild's, a resize's), if the task is
    still the one seen: their rows and network_info in one read, with no lock
    and no transaction that wrote anything (every stamp has committed)."""
    wanted = {s.seen.uuid: s.seen for s in stamps
              if s.seen.host and _carries_instance(s.seen.task_state)}
    if not wanted:
        return {}
    with reader() as session:
        rows = [row for row in session.scalars(select(I).where(I.uuid.in_(list(wanted))))
                if not row.deleted and row.task_state == wanted[row.uuid].task_state
                and row.task_updated_at == wanted[row.uuid].task_updated_at]
        nets = network_info.for_instances(session, [row.uuid for row in rows])
        return {row.uuid: task_db.step_payload(session, row, nets[row.uuid])
                for row in rows}


def nudge(seen, step_payloads):
    """The message that moves the task on (its step's, nova_lite.objects.tasks),
    or None if it has none. ``step_payloads``: {uuid: payload} of the steps
    whose message carries the instance (_payloads)."""
    host, uuid = seen.host, seen.uuid
    _, step = tasks.of(seen.task_state)
    if step is None or not step.redrive:
        return None                     # snapshots run to their deadline
    if not step.scheduler and not host:
        return None
    payload = None
    if step.payload == tasks.INSTANCE:
        payload = step_payloads.get(uuid)
        if payload is None:
            return None
    return casts.task_step(host, step, uuid, payload)


def _publish(messages):
    """Send [(stamp, message)], confirmed; the stamps whose message was not."""
    publisher = publisher_mod.get_publisher()
    futures = [(stamp, publisher.submit_envelope(m.topic, envelope.build(
        m.method, m.args, {"request_id": "req-reconciler"}))) for stamp, m in messages]
    return [stamp for stamp, future in futures if publisher_mod.unconfirmed([future])]


def send_nudges(candidates, now):
    """Nudge the tasks ``candidates`` (rows of SEEN) that are still as seen and
    that no other reconciler nudges; how many messages were sent."""
    # Stamp first, each in its own transaction: what is built and sent below
    # is only what this call won, and nothing is held while it is.
    stamps = [s for s in (_stamp(seen, now) for seen in candidates) if s is not None]
    step_payloads = _payloads(stamps)
    messages = [(s, m) for s in stamps if (m := nudge(s.seen, step_payloads)) is not None]
    unsent = _publish(messages)
    for stamp in unsent:
        _unstamp(stamp)
    if unsent:
        LOG.warning("reconciler: %d of %d nudges not confirmed by the broker; the next "
                    "pass sends them again", len(unsent), len(messages))
    return len(messages)


# -- 3. resizes left unconfirmed --------------------------------------------------------
def confirm_resizes(now):
    """Release what the resizes of deleted servers held for their old flavor;
    then confirm the resizes in VERIFY_RESIZE for longer than [compute]
    resize_confirm_window (0: never), as Nova's periodic task does: each
    starts its confirmResize task in its own transaction (a compare-and-set:
    a user's confirm or revert at the same moment wins or loses whole) and
    its message is sent after commit. How many were started."""
    with transaction() as session:
        task_db.release_deleted_migrations(session, CONF.conductor.reconcile_batch)
    window = CONF.compute.resize_confirm_window
    if window <= 0:
        return 0
    task = tasks.TASKS["confirmResize"]
    with reader() as session:
        due = task_db.unconfirmed_resizes(session, now - datetime.timedelta(seconds=window),
                                          CONF.conductor.reconcile_batch)
    started = 0
    for uuid in due:
        with transaction() as session:
            row = instances.get(session, uuid, for_update=True)
            if row is None or task_db.check_start(row, task, is_admin=True) is not None:
                continue
            task_db.begin(session, row, task, {"request_id": "req-reconciler"})
            message = casts.task_step(row.host, task.first, uuid)
        casts.send(message, {"request_id": "req-reconciler"})
        started += 1
        LOG.info("instance %s: resize confirmed automatically after %d s", uuid, window)
    return started


def reconcile_once(now=None):
    """One pass; returns (nudged, expired) counts."""
    now = now or models.utcnow()
    # Expiry first, on its own batch: deadlines hold whatever the backlog.
    expired = expire_overdue(now)
    nudged = send_nudges(stalled(now), now)
    confirm_resizes(now)
    if nudged or expired:
        LOG.info("reconciler: %d tasks nudged, %d timed out", nudged, expired)
    return nudged, expired
