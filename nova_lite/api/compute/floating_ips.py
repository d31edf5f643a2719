"""os-floating-ip-pools and os-floating-ips, Nova's proxies onto the
Networking API's floating IPs for older clients:

    GET /os-floating-ip-pools                 the external networks, by name
    GET /os-floating-ips, /os-floating-ips/{id}
    POST /os-floating-ips {"pool": name}      200; no pool: the default
                                              external network (or the only one)
    DELETE /os-floating-ips/{id}              202

A floating IP in Nova's format: id, ip, pool (network name), fixed_ip and
instance_id (the server its port belongs to)."""
import flask
from sqlalchemy import select

from nova_lite import exception
from nova_lite.api import context, relay, validation
from nova_lite.db import models
from nova_lite.db.session import reader, transaction
from nova_lite.network import exceptions, floating_ips, networks

N = models.Network
CREATE_SCHEMA = {"type": ["object", "null"], "additionalProperties": False,
                 "properties": {"pool": {"type": ["string", "null"], "maxLength": 255}}}


def _pools(session, ctx):
    return session.scalars(networks.visible_networks(ctx).where(N.external)
                           .order_by(N.created_at, N.id)).all()


def pool_name(network):
    return network.name or network.id


def pools():
    with reader() as session:
        found = _pools(session, context.current())
    return flask.jsonify({"floating_ip_pools": [{"name": pool_name(n)} for n in found]})


def view(fip, pool, instance_id):
    return {"id": fip.id, "ip": floating_ips.fip_address(fip), "pool": pool,
            "fixed_ip": floating_ips.fixed_address(fip), "instance_id": instance_id}


def _views(session, found):
    if not found:
        return []
    names = {n.id: pool_name(n) for n in session.scalars(select(N).where(
        N.id.in_({f.floating_network_id for f in found})))}
    devices = dict(session.execute(select(models.Port.id, models.Port.device_id).where(
        models.Port.id.in_({f.port_id for f in found if f.port_id}),
        models.Port.device_owner.startswith("compute:"))).all())
    return [view(f, names.get(f.floating_network_id), devices.get(f.port_id) or None)
            for f in found]


def _get(session, ctx, floating_ip_id, for_update=False):
    try:
        return floating_ips.get(session, ctx, floating_ip_id, for_update=for_update)
    except floating_ips.FloatingIPNotFound:
        raise exception.NotFound(f"Floating IP not found for ID {floating_ip_id}") \
            from None


def index():
    ctx = context.current()
    with reader() as session:
        found = session.scalars(floating_ips.visible(ctx).order_by(
            models.FloatingIP.created_at, models.FloatingIP.id)).all()
        items = _views(session, found)
    return flask.jsonify({"floating_ips": items})


def show(floating_ip_id):
    ctx = context.current()
    with reader() as session:
        (item,) = _views(session, [_get(session, ctx, floating_ip_id)])
    return flask.jsonify({"floating_ip": item})


def _pool(session, ctx, wanted):
    found = _pools(session, ctx)
    if wanted:
        matching = [n for n in found if wanted in (n.name, n.id)]
    else:
        matching = [n for n in found if n.is_default] or (found if len(found) == 1 else [])
    if len(matching) != 1:
        raise exception.NotFound(f"Floating IP pool not found: {wanted}" if wanted else
                                 "No default floating IP pool: name one with 'pool'.")
    return matching[0]


def create():
    body = flask.request.get_data(cache=True) and validation.json_body()
    validation.check(CREATE_SCHEMA, body or None)
    ctx = context.current()
    with transaction() as session:
        pool = _pool(session, ctx, (body or {}).get("pool"))
        try:
            fip = floating_ips.allocate(session, ctx, pool.id)
        except exceptions.IpAddressExhausted:
            raise exception.NotFound(f"No more floating IPs in pool {pool_name(pool)}.") \
                from None
        item = view(fip, pool_name(pool), None)
    return flask.jsonify({"floating_ip": item})


def delete(floating_ip_id):
    ctx = context.current()
    with transaction() as session:
        _get(session, ctx, floating_ip_id, for_update=True)
        floating_ips.release(session, ctx, floating_ip_id)
    relay.wake()
    return "", 202


def register(bp):
    bp.add_url_rule("/v2.1/os-floating-ip-pools", "floating_ip_pools", pools)
    bp.add_url_rule("/v2.1/os-floating-ips", "floating_ips", index)
    bp.add_url_rule("/v2.1/os-floating-ips", "create_floating_ip", create,
                    methods=["POST"])
    bp.add_url_rule("/v2.1/os-floating-ips/<floating_ip_id>", "floating_ip", show)
    bp.add_url_rule("/v2.1/os-floating-ips/<floating_ip_id>", "delete_floating_ip",
                    delete, methods=["DELETE"])
