"""/v2.0/networks: create, list, show, update, delete."""
from nova_lite.api import context
from nova_lite.api.network import params, schemas, views
from nova_lite.db import models
from nova_lite.db.session import reader, transaction
from nova_lite.network import networks

N = models.Network
FILTERS = {
    "id": (N.id, "str"), "name": (N.name, "str"), "description": (N.description, "str"),
    "status": (N.status, "str"), "project_id": (N.project_id, "str"),
    "tenant_id": (N.project_id, "str"), "shared": (N.shared, "bool"),
    "router:external": (N.external, "bool"), "admin_state_up": (N.admin_state_up, "bool"),
    "is_default": (N.is_default, "bool"), "mtu": (N.mtu, "int"),
}
# Who sees the provider attributes (admins by default) may filter on them too.
PROVIDER_RULE = "get_network:provider:segmentation_id"
ADMIN_FILTERS = {"provider:segmentation_id": (N.segmentation_id, "int")}
SORT_KEYS = {"name": "name", "created_at": "created_at", "mtu": "mtu",
             "status": "status"}


def _changes(spec):
    changes = {k: spec[k] for k in ("name", "description", "mtu") if k in spec}
    changes.update(params.bools(spec, "admin_state_up", "shared", "is_default"))
    if "router:external" in spec:
        changes["external"] = params.to_bool(spec["router:external"], "router:external")
    return changes


def _view(session, network):
    return views.network(network, networks.subnet_ids_by_network(
        session, [network.id])[network.id], admin=context.current().can(PROVIDER_RULE))


def _provider(spec):
    """Provider attributes on create: each its own rule (Neutron's
    create_network:provider:*, admins by default), and only what every
    network is (a VXLAN segment; its VNI is allocated)."""
    given = [key for key in spec if key.startswith("provider:")]
    for key in given:
        context.current().authorize(f"create_network:{key}")
        del spec[key]


def create():
    spec = params.body("network", schemas.NETWORK_CREATE)
    _provider(spec)
    with transaction() as session:
        network = networks.create_network(session, context.current(),
                                          project_id=params.owner(spec), **_changes(spec))
        body = _view(session, network)
    return params.item("network", body, 201)


def index():
    ctx = context.current()
    provider = ctx.can(PROVIDER_RULE)
    with reader() as session:
        query = params.filtered(networks.visible_networks(ctx),
                                dict(FILTERS, **ADMIN_FILTERS) if provider else FILTERS)
        rows, marker = params.page(session, query, N, SORT_KEYS,
                                   visible=networks.visible_networks(ctx))
        subnet_ids = networks.subnet_ids_by_network(session, [n.id for n in rows])
    return params.collection("networks", [views.network(n, subnet_ids[n.id], provider)
                                          for n in rows], marker)


def show(network_id):
    with reader() as session:
        network = networks.get_network(session, context.current(), network_id)
        body = _view(session, network)
    return params.item("network", body)


def update(network_id):
    spec = params.body("network", schemas.NETWORK_UPDATE)
    with transaction() as session:
        network = networks.update_network(session, context.current(), network_id,
                                          _changes(spec))
        body = _view(session, network)
    return params.item("network", body)


def delete(network_id):
    with transaction() as session:
        networks.delete_network(session, context.current(), network_id)
    return params.no_content()


def register(bp):
    bp.add_url_rule("/v2.0/networks", "networks", index)
    bp.add_url_rule("/v2.0/networks", "create_network", create, methods=["POST"])
    bp.add_url_rule("/v2.0/networks/<network_id>", "network", show)
    bp.add_url_rule("/v2.0/networks/<network_id>", "update_network", update,
                    methods=["PUT"])
    bp.add_url_rule("/v2.0/networks/<network_id>", "delete_network", delete,
                    methods=["DELETE"])
