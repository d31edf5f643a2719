"""The ends of a task's steps in the database, as the task table says
(``nova_lite.objects.tasks``): a step done moves the instance to the next
step or to the task's final vm_state; a step failed, or past its deadline,
is undone to a clear state with a fault. Every change is a compare-and-set
(``instances.transition``) on the step's task_state, so a late or repeated
report changes nothing.

A task that holds resources names its database change at the end (DONE) and
its undo (UNDO) here; the resize ones move allocations between the instance
and its migration record (the migration's uuid holds the old flavor while a
resize is unconfirmed, as Nova's placement does)."""
from sqlalchemy import select, update

from nova_lite.db import actions, allocations, instances, models
from nova_lite.objects import payloads, states, tasks

M = models.Migration
A = models.Allocation

RESIZE = "resize"
FLAVOR_COLUMNS = ("vcpus", "memory_mb", "root_gb", "ephemeral_gb")


# -- starting ------------------------------------------------------------------------
def begin(session, instance, task, context):
    """Mark ``task`` started on the locked ``instance`` (checked by the caller):
    its first task_state, and its action opened."""
    instances.transition(session, instance.uuid, {"task_state": None},
                         task_state=task.first.task_state)
    actions.start(session, instance.uuid, task.name, context)


def check_start(instance, task, is_admin):
    """The reason ``task`` may not start on ``instance`` (Nova's words), or None."""
    if instance.locked and not is_admin:
        return f"Instance {instance.uuid} is locked"
    if (task.start_states is not None and instance.vm_state not in task.start_states) \
            or instance.task_state is not None or instance.host is None:
        return tasks.conflict_message(instance.uuid, task.name, instance.vm_state,
                                      instance.task_state)
    return None


def step_payload(session, row, network_info):
    """What the message of the step ``row`` is in carries (casts.task_step's
    ``instance``): None for a step that carries the uuid only, else the build
    payload, with the flavor the step moves the guest to (a resize's new
    one, a revert's old one) and, for a resize or revert, ``old_flavor``."""
    task, step = tasks.of(row.task_state)
    if step is None or step.payload != tasks.INSTANCE:
        return None
    payload = payloads.instance_payload(row, network_info=network_info)
    if task.name in ("resize", "revertResize"):
        migration = current_migration(session, row.uuid, ("migrating", "finished",
                                                          "reverting"))
        if migration is not None:
            target = migration.new_flavor if task.name == "resize" else migration.old_flavor
            payload.update({column: target[column] for column in FLAVOR_COLUMNS})
            payload["flavor"] = target
            payload["old_flavor"] = migration.old_flavor
    return payload


# -- a step done, a step failed ---------------------------------------------------------
def step_done(session, instance_uuid, host, task_state, power_state):
    """The host finished the step ``task_state``: the next step's task_state
    (the caller sends its message) or None when the task ended; False if the
    instance was no longer in that step (a late or repeated report)."""
    task, step = tasks.of(task_state)
    following = task.after(task_state)
    if following is not None:
        if not instances.transition(session, instance_uuid,
                                    {"task_state": task_state, "host": host},
                                    task_state=following.task_state):
            return False
        actions.event(session, instance_uuid, task.name, f"compute_{step.method}",
                      host=host)
        return following.task_state
    if task.done:
        allocations.lock_nodes_of(session, instance_uuid)   # node, then instance row
    values = {"task_state": None, "power_state": power_state}
    if task.final_vm_state != tasks.UNCHANGED:
        values["vm_state"] = tasks.final_vm_state(task, power_state)
    if not instances.transition(session, instance_uuid,
                                {"task_state": task_state, "host": host}, **values):
        return False
    if task.done:
        DONE[task.done](session, instance_uuid)
    actions.event(session, instance_uuid, task.name, f"compute_{step.method}", host=host)
    actions.finish(session, instance_uuid, task.name)
    return None


def step_failed(session, instance_uuid, task_state, reason, details=None, expect=None,
                host=None):
    """Undo the step ``task_state``: the task's database undo, the vm_state
    its ``on_failure`` names, a fault. ``expect``: what else the row must
    match (the reconciler's task as seen). True if this call did it."""
    task, step = tasks.of(task_state)
    expect = {"task_state": task_state, **(expect or {})}
    if host is not None:
        expect["host"] = host
    values = {"task_state": None}
    if task.on_failure == states.ERROR:
        values["vm_state"] = states.ERROR
    if task.undo:
        allocations.lock_nodes_of(session, instance_uuid)   # node, then instance row
    if not instances.transition(session, instance_uuid, expect, **values):
        return False
    if task.undo:
        UNDO[task.undo](session, instance_uuid)
    instances.add_fault(session, instance_uuid, reason, 500, details)
    actions.event(session, instance_uuid, task.name,
                  f"compute_{step.method}" if step else task.name, host=host,
                  result="Error", details=details or reason)
    actions.finish(session, instance_uuid, task.name, "Error")
    return True


def reset_state(session, instance, vm_state):
    """os-resetState on the locked ``instance`` (its nodes locked first): a
    task under way is aborted as a failed step is undone; then the vm_state
    is set and the task cleared."""
    if instance.task_state is not None and tasks.of(instance.task_state)[0] is not None:
        step_failed(session, instance.uuid, instance.task_state,
                    f"Task {instance.task_state} aborted by os-resetState")
    if instance.vm_state == states.RESIZED:
        _resize_confirmed(session, instance.uuid)
    instances.transition(session, instance.uuid, {}, vm_state=vm_state, task_state=None)


# -- resize ---------------------------------------------------------------------------
def flavor_values(flavor):
    """The instance columns of a flavor snapshot."""
    return {"flavor_id": flavor["flavorid"], "flavor": flavor,
            **{column: flavor[column] for column in FLAVOR_COLUMNS}}


def begin_resize(session, instance, new_flavor, context):
    """Claim ``new_flavor`` on the instance's own node for the instance, the
    old allocation moved to a new migration record, and give the instance
    row the new flavor (so the quota triggers count it at commit, and refuse
    it past a limit); the migration, or None if the node has no room
    (nothing changed then). A revert or a failed resize gives the old one
    back."""
    allocations.lock_nodes_of(session, instance.uuid)
    held = session.scalars(select(A).where(A.instance_uuid == instance.uuid)).first()
    if held is None:
        return None
    savepoint = session.begin_nested()
    migration = M(instance_uuid=instance.uuid, source_compute=instance.host,
                  dest_compute=instance.host, source_node=instance.node,
                  dest_node=instance.node, dest_host=instance.host,
                  old_instance_type_id=instance.flavor_id,
                  new_instance_type_id=new_flavor["flavorid"],
                  old_flavor=instance.flavor, new_flavor=new_flavor, status="migrating",
                  migration_type=RESIZE, project_id=context.get("project_id"),
                  user_id=context.get("user_id"))
    session.add(migration)
    session.flush()
    _move_allocation(session, instance.uuid, migration.uuid)
    if not allocations.claim(session, held.node_id, instance.uuid, new_flavor["vcpus"],
                             new_flavor["memory_mb"],
                             new_flavor["root_gb"] + new_flavor["ephemeral_gb"]):
        savepoint.rollback()
        return None
    savepoint.commit()
    instances.transition(session, instance.uuid, {}, **flavor_values(new_flavor))
    return migration


def current_migration(session, instance_uuid, statuses=None):
    query = select(M).where(M.instance_uuid == instance_uuid, ~M.deleted)
    if statuses:
        query = query.where(M.status.in_(statuses))
    return session.scalars(query.order_by(M.id.desc()).limit(1)).first()


def _move_allocation(session, from_uuid, to_uuid):
    session.execute(update(A).where(A.instance_uuid == from_uuid)
                    .values(instance_uuid=to_uuid)
                    .execution_options(synchronize_session=False))


def _set_status(session, migration, status):
    migration.status = status
    migration.updated_at = models.utcnow()


def _resize_finished(session, instance_uuid):
    migration = current_migration(session, instance_uuid, ("migrating",))
    if migration is None:
        return
    instances.transition(session, instance_uuid, {}, **flavor_values(migration.new_flavor))
    _set_status(session, migration, "finished")


def _back_to_old_flavor(session, instance_uuid, statuses, status):
    """Give the instance its old flavor and allocation back (revert, or a
    failed resize): the new allocation released, the migration's returned."""
    migration = current_migration(session, instance_uuid, statuses)
    if migration is None:
        return
    allocations.release(session, instance_uuid)
    _move_allocation(session, migration.uuid, instance_uuid)
    instances.transition(session, instance_uuid, {}, **flavor_values(migration.old_flavor))
    _set_status(session, migration, status)


def _resize_failed(session, instance_uuid):
    _back_to_old_flavor(session, instance_uuid, ("migrating",), "error")


def _resize_reverted(session, instance_uuid):
    _back_to_old_flavor(session, instance_uuid, ("finished", "reverting"), "reverted")


def _resize_confirmed(session, instance_uuid):
    migration = current_migration(session, instance_uuid, ("finished", "confirming"))
    if migration is None:
        return
    allocations.release(session, migration.uuid)       # the old flavor's
    _set_status(session, migration, "confirmed")


def unconfirmed_resizes(session, older_than, limit):
    """uuids of instances in VERIFY_RESIZE whose resize finished before
    ``older_than`` (``[compute] resize_confirm_window``)."""
    I = models.Instance
    return session.scalars(
        select(M.instance_uuid).join(I, I.uuid == M.instance_uuid)
        .where(M.status == "finished", M.updated_at < older_than, ~M.deleted,
               I.vm_state == states.RESIZED, I.task_state.is_(None), ~I.deleted)
        .order_by(M.updated_at).limit(limit)).all()


def release_deleted_migrations(session, limit):
    """The old flavor's allocations of resizes whose server was deleted before
    it was confirmed or reverted (a delete releases the server's own claim
    only): released, the migration marked deleted. How many."""
    I = models.Instance
    candidates = session.scalars(
        select(M.uuid).join(I, I.uuid == M.instance_uuid)
        .where(M.status.in_(("migrating", "finished")), ~M.deleted, I.deleted)
        .order_by(M.id).limit(limit)).all()
    released = 0
    for migration_uuid in candidates:
        allocations.lock_nodes_of(session, migration_uuid)     # node first, as everywhere
        migration = session.scalars(select(M).where(
            M.uuid == migration_uuid, ~M.deleted,
            M.status.in_(("migrating", "finished"))).with_for_update()).first()
        if migration is None:
            continue
        allocations.release(session, migration_uuid)
        migration.deleted = True
        _set_status(session, migration, "deleted")
        released += 1
    return released


DONE = {"resize_finished": _resize_finished, "resize_confirmed": _resize_confirmed,
        "resize_reverted": _resize_reverted}
UNDO = {"resize_failed": _resize_failed}
