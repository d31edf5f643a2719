"""/v2.0/subnets: create, list, show, update, delete."""
from nova_lite.api import context
from nova_lite.api.network import params, schemas, views
from nova_lite.db import models
from nova_lite.db.session import reader, transaction
from nova_lite.network import networks

S = models.Subnet
FILTERS = {
    "id": (S.id, "str"), "name": (S.name, "str"), "description": (S.description, "str"),
    "network_id": (S.network_id, "str"), "project_id": (S.project_id, "str"),
    "tenant_id": (S.project_id, "str"), "cidr": (S.cidr, "str"),
    "ip_version": (S.ip_version, "int"), "gateway_ip": (S.gateway_ip, "str"),
    "enable_dhcp": (S.enable_dhcp, "bool"), "ipv6_ra_mode": (S.ipv6_ra_mode, "str"),
    "ipv6_address_mode": (S.ipv6_address_mode, "str"),
}
SORT_KEYS = {"name": "name", "created_at": "created_at", "cidr": "cidr",
             "network_id": "network_id", "ip_version": "ip_version"}


def create():
    spec = params.body("subnet", schemas.SUBNET_CREATE)
    options = {k: spec[k] for k in ("name", "description", "allocation_pools",
                                    "dns_nameservers", "host_routes", "ipv6_ra_mode",
                                    "ipv6_address_mode", "gateway_ip") if k in spec}
    options.update(params.bools(spec, "enable_dhcp"))
    with transaction() as session:
        subnet = networks.create_subnet(
            session, context.current(), spec["network_id"], cidr=spec["cidr"],
            ip_version=spec.get("ip_version"), project_id=params.owner(spec), **options)
        body = views.subnet(subnet)
    return params.item("subnet", body, 201)


def index():
    ctx = context.current()
    with reader() as session:
        query = params.filtered(networks.visible_subnets(ctx), FILTERS)
        rows, marker = params.page(session, query, S, SORT_KEYS,
                                   visible=networks.visible_subnets(ctx))
    return params.collection("subnets", [views.subnet(s) for s in rows], marker)


def show(subnet_id):
    with reader() as session:
        subnet = networks.get_subnet(session, context.current(), subnet_id)
    return params.item("subnet", views.subnet(subnet))


def update(subnet_id):
    spec = params.body("subnet", schemas.SUBNET_UPDATE)
    changes = dict(spec)
    changes.update(params.bools(spec, "enable_dhcp"))
    with transaction() as session:
        subnet = networks.update_subnet(session, context.current(), subnet_id, changes)
        body = views.subnet(subnet)
    return params.item("subnet", body)


def delete(subnet_id):
    with transaction() as session:
        networks.delete_subnet(session, context.current(), subnet_id)
    return params.no_content()


def register(bp):
    bp.add_url_rule("/v2.0/subnets", "subnets", index)
    bp.add_url_rule("/v2.0/subnets", "create_subnet", create, methods=["POST"])
    bp.add_url_rule("/v2.0/subnets/<subnet_id>", "subnet", show)
    bp.add_url_rule("/v2.0/subnets/<subnet_id>", "update_subnet", update,
                    methods=["PUT"])
    bp.add_url_rule("/v2.0/subnets/<subnet_id>", "delete_subnet", delete,
                    methods=["DELETE"])
