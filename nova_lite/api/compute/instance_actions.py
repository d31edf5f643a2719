"""/servers/{id}/os-instance-actions: what was done to a server, by whom, and
how each step went (events; tracebacks for whom the policy rule
os_compute_api:os-instance-actions:events:details allows: admins by default).

Microversions (Nova's): 2.51 events shown to everyone who may show the
action; 2.58 ``updated_at`` and list paging (``limit``, ``marker``: a
request id, ``links``); 2.62 events' ``hostId`` (and ``host`` for whom the
events:details rule allows); 2.84 events' ``details``."""
import hashlib

import flask
from sqlalchemy import select

from nova_lite import exception
from nova_lite.api import context, links, pagination
from nova_lite.api.middleware import microversion
from nova_lite.api.compute import server_queries
from nova_lite.api.timeutil import iso_micro
from nova_lite.db import models
from nova_lite.db.session import reader

A = models.InstanceAction
E = models.InstanceActionEvent


def _view(action, version):
    body = {"action": action.action, "instance_uuid": action.instance_uuid,
            "message": action.message, "project_id": action.project_id,
            "request_id": action.request_id, "start_time": iso_micro(action.start_time),
            "user_id": action.user_id}
    if version >= (2, 58):
        body["updated_at"] = iso_micro(action.finish_time or action.start_time)
    return body


def _event_view(event, instance, show_details, version):
    body = {"event": event.event, "start_time": iso_micro(event.start_time),
            "finish_time": iso_micro(event.finish_time), "result": event.result}
    if show_details:
        body["traceback"] = event.details
    if version >= (2, 62):
        body["hostId"] = (hashlib.sha224((instance.project_id + event.host).encode())
                          .hexdigest() if event.host else "")
        if show_details:
            body["host"] = event.host or ""
    if version >= (2, 84):
        body["details"] = None if event.result != "Error" else (
            event.details.splitlines()[-1] if event.details else None)
    return body


def index(server_id):
    ctx = context.current()
    version = microversion.requested()
    paged = version >= (2, 58)
    limit = pagination.limit() if paged else None
    with reader() as session:
        instance = server_queries.get(session, ctx, server_id)
        query = select(A).where(A.instance_uuid == instance.uuid)
        marker = pagination.marker() if paged else None
        if marker:
            mark = session.scalars(query.where(A.request_id == marker)
                                   .order_by(A.id.desc())).first()
            if mark is None:
                raise exception.Invalid(f"Marker {marker} could not be found.")
            query = query.where((A.start_time < mark.start_time)
                                | ((A.start_time == mark.start_time) & (A.id < mark.id)))
        query = query.order_by(A.start_time.desc(), A.id.desc())
        rows = session.scalars(query.limit(limit) if limit is not None else query).all()
    items = [_view(a, version) for a in rows]
    body = {"instanceActions": items}
    if paged:
        nxt = pagination.next_link(
            links.base_url() + f"/compute/v2.1/servers/{instance.uuid}/os-instance-actions",
            items, limit, key="request_id")
        if nxt:
            body["links"] = nxt
    return flask.jsonify(body)


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
    version = microversion.requested()
    body = _view(action, version)
    details = ctx.can("os_compute_api:os-instance-actions:events:details")
    body["events"] = [_event_view(e, instance, details, version) for e in events]
    return flask.jsonify({"instanceAction": body})


def register(bp):
    bp.add_url_rule("/v2.1/servers/<server_id>/os-instance-actions", "instance_actions",
                    index)
    bp.add_url_rule("/v2.1/servers/<server_id>/os-instance-actions/<request_id>",
                    "instance_action", show)
