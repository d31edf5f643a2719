"""/servers: create, list, detail, show, update, delete.

Create and delete answer at once (202/204); the work is in the outbox,
written in the same transaction as the rows, and the relay is woken after
commit. A server on a host whose compute service is down is deleted at once
(the host still gets the terminate, for when it is back)."""
import functools
import logging

import flask
import sqlalchemy.exc

from nova_lite import exception
from nova_lite.api import context, links, pagination, relay, validation
from nova_lite.api.middleware import microversion
from nova_lite.api.compute import (
    server_create,
    server_queries,
    server_views,
)
from nova_lite.db import actions, models, quotas
from nova_lite.db import instances as instance_db
from nova_lite.db.session import reader, transaction
from nova_lite.network import instance_ports
from nova_lite.objects import states
from nova_lite.rpc import casts, outbox

LOG = logging.getLogger(__name__)

@functools.lru_cache(maxsize=None)
def update_schema_for(version):
    """The PUT /servers/{id} body schema at ``version`` (2.19 description,
    2.90 hostname, 2.94 FQDN hostname)."""
    props = {"name": validation.NAME,
             "accessIPv4": {"type": "string", "format": "ipv4"},
             "accessIPv6": {"type": "string", "format": "ipv6"},
             "OS-DCF:diskConfig": {"enum": ["AUTO", "MANUAL"]}}
    if version >= (2, 19):
        props["description"] = server_create.DESCRIPTION
    if version >= (2, 90):
        props["hostname"] = (server_create.HOSTNAME_FQDN if version >= (2, 94)
                             else server_create.HOSTNAME)
    return {"type": "object", "required": ["server"], "additionalProperties": False,
            "properties": {"server": {"type": "object", "additionalProperties": False,
                                      "properties": props}}}


def update_schema():
    return update_schema_for(microversion.requested())


UPDATE_SCHEMA = update_schema_for((2, 1))


@validation.body(server_create.schema)
def create(body):
    ctx = context.current()
    created = None
    try:
        with transaction() as session:
            created, reservation_id = server_create.create(session, ctx, body)
    except sqlalchemy.exc.DBAPIError as exc:
        over = quotas.over_quota(exc)       # a quota trigger refused it at commit
        if over is None or created is None:
            raise
        with reader() as session:
            raise server_create.explain(session, ctx, over, len(created)) from None
    relay.wake()
    if str(body["server"].get("return_reservation_id", "")).lower() in ("true", "1"):
        return flask.jsonify({"reservation_id": reservation_id}), 202
    first = created[0]
    server = {"id": first, "links": links.compute_links("servers", first),
              "OS-DCF:diskConfig": "MANUAL",
              "security_groups": [{"name": g.get("name")} for g in
                                  body["server"].get("security_groups") or []
                                  if g.get("name")] or [{"name": "default"}],
              "adminPass": body["server"].get("adminPass") or server_create.admin_password()}
    return flask.jsonify({"server": server}), 202


def _list(detail):
    ctx = context.current()
    if server_queries.all_projects():
        # As Nova: asking for every project's servers is a rule of its own
        # (403 for non-admins), besides the endpoint's servers:index/detail.
        ctx.authorize("os_compute_api:servers:%s:get_all_tenants"
                      % ("detail" if detail else "index"))
    with reader() as session:
        found, limit = server_queries.page(session, ctx)
        loaded = server_views.load(session, ctx, found) if detail else None
    if detail:
        items = [server_views.detail(i, ctx, loaded, kind="list") for i in found]
    else:
        items = [server_views.summary(i) for i in found]
    body = {"servers": items}
    nxt = pagination.next_link(links.base_url() + "/compute/v2.1/servers"
                               + ("/detail" if detail else ""), items, limit)
    if nxt:
        body["servers_links"] = nxt
    return flask.jsonify(body)


def index():
    return _list(detail=False)


def detail():
    return _list(detail=True)


def show(server_id):
    ctx = context.current()
    with reader() as session:
        instance = server_queries.get_row(session, ctx, server_id)
        loaded = server_views.load(session, ctx, [instance], kind="show")
    return flask.jsonify({"server": server_views.detail(instance, ctx, loaded)})


@validation.body(update_schema)
def update(server_id, body):
    ctx = context.current()
    changes = body["server"]
    with transaction() as session:
        instance = server_queries.get(session, ctx, server_id, for_update=True)
        if "name" in changes:
            instance.name = changes["name"]
        if "accessIPv4" in changes:
            instance.access_ip_v4 = changes["accessIPv4"]
        if "accessIPv6" in changes:
            instance.access_ip_v6 = changes["accessIPv6"]
        if "description" in changes:
            instance.description = changes["description"]
        if "hostname" in changes:
            instance.hostname = changes["hostname"]
        instance.updated_at = models.utcnow()
    with reader() as session:
        loaded = server_views.load(session, ctx, [instance], kind="update")
    return flask.jsonify({"server": server_views.detail(instance, ctx, loaded,
                                                        kind="update")})


def delete(server_id):
    ctx = context.current()
    with transaction() as session:
        changed = _delete(session, ctx, server_id, ctx.to_rpc())
    if changed:
        relay.wake()
    return "", 204


def _delete(session, ctx, server_id, rpc_context):
    """Write the delete; False if there was nothing to do (already deleting).

    A server whose host's compute service is down is deleted at once, as
    Nova's local delete does (its claim and addresses freed); the host is
    still sent the terminate, which removes the guest when it is back."""
    if validation.is_uuid(server_id):
        # The usual case (placed, not locked, not being deleted) is one
        # statement; anything else is decided on the locked row below.
        placed = instance_db.begin_delete(
            session, server_id, rpc_context,
            project_id=None if ctx.is_admin else ctx.project_id, locked_too=ctx.is_admin)
        if placed is not None:
            if placed.host_down:
                _delete_here(session, server_id, f"host {placed.host} is down")
            outbox.enqueue(session, casts.terminate_instance(placed.host, server_id),
                           rpc_context)
            return True
    instance = server_queries.get(session, ctx, server_id, for_update=True)
    if instance.locked and not ctx.is_admin:
        raise exception.Conflict(f"Instance {server_id} is locked")
    if instance.task_state == states.DELETING:
        return False
    actions.start(session, instance.uuid, "delete", rpc_context)
    if instance.host is None:
        # Never placed (or its build failed): nothing runs anywhere to stop.
        _delete_here(session, instance.uuid)
        return True
    instance_db.transition(session, instance.uuid, {}, task_state=states.DELETING)
    if instance_db.host_down(session, instance.host):
        _delete_here(session, instance.uuid, f"host {instance.host} is down")
    outbox.enqueue(session, casts.terminate_instance(instance.host, instance.uuid),
                   rpc_context)
    return True


def _delete_here(session, instance_uuid, why=None):
    """Delete in the database alone (``why``: its host is down). Its addresses
    leave its groups on the other hosts through the database triggers
    (nova_lite.network.membership)."""
    if why:
        LOG.info("deleting %s in the database: %s", instance_uuid, why)
    instance_ports.delete_server(session, instance_uuid)


def register(bp):
    bp.add_url_rule("/v2.1/servers", "servers", index)
    bp.add_url_rule("/v2.1/servers", "create_server", create, methods=["POST"])
    bp.add_url_rule("/v2.1/servers/detail", "servers_detail", detail)
    bp.add_url_rule("/v2.1/servers/<server_id>", "server", show)
    bp.add_url_rule("/v2.1/servers/<server_id>", "update_server", update, methods=["PUT"])
    bp.add_url_rule("/v2.1/servers/<server_id>", "delete_server", delete,
                    methods=["DELETE"])
