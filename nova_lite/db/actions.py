"""Instance actions and their events: the user-visible history of an instance
(``GET /servers/{id}/os-instance-actions``)."""
from sqlalchemy import insert, select, update

from nova_lite.db import models

A = models.InstanceAction
_INSERT = insert(A.__table__)


def start(session, instance_uuid, action, context):
    start_many(session, [instance_uuid], action, context)


def start_many(session, instance_uuids, action, context):
    """Open an ``action`` for each of these instances: one INSERT (executemany)."""
    request_id = context.get("request_id") or ""
    user_id, project_id = context.get("user_id"), context.get("project_id")
    session.connection().execute(_INSERT, [
        {"instance_uuid": instance_uuid, "action": action, "request_id": request_id,
         "user_id": user_id, "project_id": project_id, "start_time": models.utcnow()}
        for instance_uuid in instance_uuids])


def finish(session, instance_uuid, action, message=None):
    """Close the newest open action of that kind (idempotent)."""
    newest = (select(A.id).where(A.instance_uuid == instance_uuid, A.action == action,
                                 A.finish_time.is_(None))
              .order_by(A.id.desc()).limit(1).scalar_subquery())
    session.execute(update(A).where(A.id == newest)
                    .values(finish_time=models.utcnow(), message=message))


def event(session, instance_uuid, action, name, host=None, result="Success", details=None):
    """Record a finished event under the newest action of that kind."""
    action_id = session.scalars(select(A.id).where(A.instance_uuid == instance_uuid,
                                                   A.action == action)
                                .order_by(A.id.desc()).limit(1)).first()
    if action_id is None:
        return
    now = models.utcnow()
    session.add(models.InstanceActionEvent(action_id=action_id, event=name, host=host,
                                           result=result, details=details,
                                           start_time=now, finish_time=now))
