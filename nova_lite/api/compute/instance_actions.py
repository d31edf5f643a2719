"""/servers/{id}/os-instance-actions: what was done to a server, by whom, and
how each step went (events; tracebacks for whom the policy rule
os_compute_api:os-instance-actions:events:details allows: admins by default)."""
import flask
from sqlalchemy import select

from nova_lite import exception
from nova_lite.api import context
from nova_lite.api.compute import server_queries
from nova_lite.api.timeutil import iso_micro
from nova_lite.db import models
from nova_lite.db.session import reader

A = models.InstanceAction
E = models.InstanceActionEvent


def _view(action):
    return {"action": action.action, "instance_uuid": action.instance_uuid,
            "message": action.message, "project_id": action.project_id,
            "request_id": action.request_id, "start_time": iso_micro(action.start_time),
            "user_id": action.user_id}


def _event_view(event, show_details):
    body = {"event": event.event, "start_time": iso_micro(event.start_time),
            "finish_time": iso_micro(event.finish_time), "result": event.result}
    if show_details:
        body["traceback"] = event.details
    return body


def index(server_id):
    ctx = context.current()
    with reader() as session:
        instance = server_queries.get(session, ctx, server_id)
        rows = session.scalars(select(A).where(A.instance_uuid == instance.uuid)
                               .order_by(A.start_time.desc(), A.id.desc())).all()
    return flask.jsonify({"instanceActions": [_view(a) for a in rows]})


def show(server_id, request_id):
    ctx = context.current()
    with reader() as session:
        instance = server_queries.get(session, ctx, server_id)
        action = session.scalars(select(A).where(A.instance_uuid == instance.uuid,
                                                 A.request_id == request_id)
                                 .order_by(A.id.desc())).first()
        if action is None:
            raise exception.NotFound(f"Action for request_id {request_id} on instance "
                                     f"{server_id} not found")
        events = session.scalars(select(E).where(E.action_id == action.id)
                                 .order_by(E.id)).all()
    body = _view(action)
    details = ctx.can("os_compute_api:os-instance-actions:events:details")
    body["events"] = [_event_view(e, details) for e in events]
    return flask.jsonify({"instanceAction": body})


def register(bp):
    bp.add_url_rule("/v2.1/servers/<server_id>/os-instance-actions", "instance_actions",
                    index)
    bp.add_url_rule("/v2.1/servers/<server_id>/os-instance-actions/<request_id>",
                    "instance_action", show)
