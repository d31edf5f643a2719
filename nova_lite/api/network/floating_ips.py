"""/v2.0/floatingips: allocate, list, show, associate/disassociate (PUT
port_id), release."""
from nova_lite.api import context
from nova_lite.api.network import params, schemas, views
from nova_lite.db import models
from nova_lite.db.session import reader, transaction
from nova_lite.network import floating_ips

F = models.FloatingIP
FILTERS = {
    "id": (F.id, "str"), "description": (F.description, "str"),
    "floating_ip_address": (F.floating_ip_address, "str"),
    "floating_network_id": (F.floating_network_id, "str"),
    "port_id": (F.port_id, "str"), "fixed_ip_address": (F.fixed_ip_address, "str"),
    "status": (F.status, "str"), "project_id": (F.project_id, "str"),
    "tenant_id": (F.project_id, "str"),
}
SORT_KEYS = {"floating_ip_address": "floating_ip_address", "created_at": "created_at",
             "status": "status"}


def create():
    spec = params.body("floatingip", schemas.FLOATING_IP_CREATE)
    with transaction() as session:
        fip = floating_ips.allocate(
            session, context.current(), spec["floating_network_id"],
            project_id=params.owner(spec),
            floating_ip_address=spec.get("floating_ip_address"),
            subnet_id=spec.get("subnet_id"), port_id=spec.get("port_id"),
            fixed_ip_address=spec.get("fixed_ip_address"),
            description=spec.get("description", ""))
        body = views.floating_ip(fip)
    return params.item("floatingip", body, 201)


def index():
    ctx = context.current()
    with reader() as session:
        query = params.filtered(floating_ips.visible(ctx), FILTERS)
        rows, marker = params.page(session, query, F, SORT_KEYS,
                                   visible=floating_ips.visible(ctx))
    return params.collection("floatingips", [views.floating_ip(f) for f in rows], marker)


def show(floating_ip_id):
    with reader() as session:
        fip = floating_ips.get(session, context.current(), floating_ip_id)
    return params.item("floatingip", views.floating_ip(fip))


def update(floating_ip_id):
    spec = params.body("floatingip", schemas.FLOATING_IP_UPDATE)
    with transaction() as session:
        fip = floating_ips.update(session, context.current(), floating_ip_id, spec)
        body = views.floating_ip(fip)
    return params.item("floatingip", body)


def delete(floating_ip_id):
    with transaction() as session:
        floating_ips.release(session, context.current(), floating_ip_id)
    return params.no_content()


def register(bp):
    bp.add_url_rule("/v2.0/floatingips", "floatingips", index)
    bp.add_url_rule("/v2.0/floatingips", "create_floatingip", create, methods=["POST"])
    bp.add_url_rule("/v2.0/floatingips/<floating_ip_id>", "floatingip", show)
    bp.add_url_rule("/v2.0/floatingips/<floating_ip_id>", "update_floatingip", update,
                    methods=["PUT"])
    bp.add_url_rule("/v2.0/floatingips/<floating_ip_id>", "delete_floatingip", delete,
                    methods=["DELETE"])
