"""Instance state changes, each a single compare-and-set UPDATE.

A handler states which state it expects to move from; if another actor got
there first (a delete during a build, a redelivered message) the UPDATE
matches no row and the caller learns it lost, without locks or lost updates."""
from sqlalchemy import false, insert, or_, select, text, update

from nova_lite.db import allocations, models, services
from nova_lite.objects import states

I = models.Instance
_INSERT = insert(I.__table__)


def create_many(session, rows):
    """Insert new instance rows (dicts keyed by column name; unset columns take
    their defaults) in one INSERT (executemany)."""
    session.connection().execute(_INSERT, rows)      # Core: no ORM step


def transition(session, instance_uuid, expect, **values):
    """Move an instance from the state described by ``expect`` to ``values``.

    ``expect`` maps column names to a value or a tuple of accepted values.
    Returns True if this call made the change."""
    if "task_state" in values:
        values.setdefault("task_updated_at", models.utcnow())
    values.setdefault("updated_at", models.utcnow())
    result = session.execute(update(I).where(*_matching(instance_uuid, expect))
                             .values(**values).execution_options(synchronize_session=False))
    return result.rowcount == 1


def _matching(instance_uuid, expect):
    """SQL conditions: the live instance is in the state ``expect`` describes
    (see ``transition``)."""
    conditions = [I.uuid == instance_uuid, ~I.deleted]
    for column, wanted in expect.items():
        col = getattr(I, column)
        if isinstance(wanted, tuple):
            values_ = [w for w in wanted if w is not None]
            clause = col.in_(values_) if values_ else false()
            conditions.append(or_(clause, col.is_(None)) if None in wanted else clause)
        elif wanted is None:
            conditions.append(col.is_(None))
        else:
            conditions.append(col == wanted)
    return conditions


def stamp_nudge(session, instance_uuid, expect, nudged_at, nudges):
    """Record that the reconciler nudges the instance's task (``task_nudged_at``,
    ``task_nudges``), if it is still in the state ``expect`` describes; True if
    this call did, and so may send the nudge. A task that moved on, or a
    second reconciler that stamped it first, makes this a no-op.

    The row is taken with SKIP LOCKED: a row another transaction holds is
    being changed right now (its nudge would be stale), and the reconciler
    never waits on one. Neither ``updated_at`` nor ``task_updated_at`` moves:
    a nudge changes nothing about the server, and the task's deadline still
    runs from when it started."""
    target = (select(I.uuid).where(*_matching(instance_uuid, expect))
              .with_for_update(skip_locked=True).scalar_subquery())
    result = session.execute(update(I).where(I.uuid == target)
                             .values(task_nudged_at=nudged_at, task_nudges=nudges)
                             .execution_options(synchronize_session=False))
    return result.rowcount == 1


def add_fault(session, instance_uuid, message, code=500, details=None):
    session.add(models.InstanceFault(instance_uuid=instance_uuid, code=code,
                                     message=message[:255], details=details))


def set_error(session, instance_uuid, message, expect, code=500, details=None):
    """Put an instance in ERROR with a fault, releasing any claim it holds."""
    allocations.lock_nodes_of(session, instance_uuid)
    if not transition(session, instance_uuid, expect, vm_state=states.ERROR,
                      task_state=None, host=None, node=None):
        return False
    allocations.release(session, instance_uuid)
    add_fault(session, instance_uuid, message, code, details)
    return True


def mark_deleted(session, instance_uuid, host=None, task_state=None):
    """Soft-delete an instance and release its claim; True if this call did it.

    With ``host``, only if the instance is still on that host (a report from a
    host must never delete an instance that lives elsewhere); with
    ``task_state``, only if that is its task."""
    allocations.lock_nodes_of(session, instance_uuid)
    now = models.utcnow()
    conditions = [I.uuid == instance_uuid, ~I.deleted]
    if host is not None:
        conditions.append(I.host == host)
    if task_state is not None:
        conditions.append(I.task_state == task_state)
    result = session.execute(
        update(I).where(*conditions)
        .values(deleted=True, deleted_at=now, terminated_at=now, updated_at=now,
                vm_state=states.DELETED, task_state=None, power_state=states.NOSTATE)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return False
    allocations.release(session, instance_uuid)
    return True


def get(session, instance_uuid, for_update=False):
    query = select(I).where(I.uuid == instance_uuid)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def on_host(session, host):
    """(uuid, vm_state, task_state, power_state) of the live instances on ``host``."""
    return session.execute(select(I.uuid, I.vm_state, I.task_state, I.power_state)
                           .where(I.host == host, ~I.deleted)).all()


def placed(session, instance_uuids, skip_hypervisors=()):
    """(uuid, host) of the live instances among these that have a host (but
    not one whose compute node is of a hypervisor type in ``skip_hypervisors``)."""
    if not instance_uuids:
        return []
    query = select(I.uuid, I.host).where(
        I.uuid.in_(list(instance_uuids)), ~I.deleted, I.host.is_not(None))
    if skip_hypervisors:
        skipped = select(models.ComputeNode.host).where(
            models.ComputeNode.hypervisor_type.in_(list(skip_hypervisors)))
        query = query.where(I.host.not_in(skipped))
    return session.execute(query).all()


# The host's compute service is known to be down: forced down, or silent for
# [DEFAULT] service_down_time (a host with no service row is not known to be).
_HOST_DOWN = """EXISTS (SELECT 1 FROM services s
                       WHERE s.host = {host} AND s."binary" = 'nova-lite-compute'
                         AND (s.forced_down OR s.last_seen_up < :up_since))"""
_IS_HOST_DOWN = text("SELECT " + _HOST_DOWN.format(host=":host"))

# One statement for the usual DELETE /servers/{id}: the row is locked by the
# UPDATE itself, and the action row is written with it.
_BEGIN_DELETE = """
    WITH target AS (
        UPDATE instances SET task_state = :deleting, task_updated_at = :now,
                             updated_at = :now
        WHERE uuid = :uuid AND NOT deleted AND host IS NOT NULL
          AND task_state IS DISTINCT FROM :deleting {conditions}
        RETURNING uuid, host
    ), opened AS (
        INSERT INTO instance_actions (instance_uuid, action, request_id, user_id,
                                      project_id, start_time)
        SELECT uuid, 'delete', :request_id, :user_id, :action_project_id, :now
        FROM target
    )
    SELECT t.host, {host_down} AS host_down FROM target t"""
_BEGIN_DELETE_AS = {
    (project, locked_too): text(_BEGIN_DELETE.format(
        host_down=_HOST_DOWN.format(host="t.host"),
        conditions=" ".join(([] if project is None else ["AND project_id = :project_id"])
                            + ([] if locked_too else ["AND NOT locked"]))))
    for project in (None, True) for locked_too in (False, True)}


def begin_delete(session, instance_uuid, context, project_id=None, locked_too=False):
    """Start deleting a live instance that has a host and is not being deleted
    already (of ``project_id`` unless None; not locked unless ``locked_too``):
    task_state deleting and its 'delete' action opened, in one statement.
    Returns (host, host_down), host_down as ``host_down()`` says, or None if
    the instance is not such a one (nothing changed: the caller looks closer)."""
    statement = _BEGIN_DELETE_AS[(None if project_id is None else True, bool(locked_too))]
    return session.execute(statement, {
        "uuid": instance_uuid, "project_id": project_id, "deleting": states.DELETING,
        "now": models.utcnow(), "request_id": context.get("request_id") or "",
        "user_id": context.get("user_id"), "up_since": services.up_since(),
        "action_project_id": context.get("project_id")}).first()


def host_down(session, host):
    """Whether ``host``'s compute service is known to be down (_HOST_DOWN)."""
    return session.scalar(_IS_HOST_DOWN, {"host": host, "up_since": services.up_since()})
