"""/servers/{id}/os-interface (list, show): a server's ports as Nova shows
its interface attachments (port_state, fixed_ips, mac_addr, net_id, port_id).
Attaching and detaching are not implemented here. At 2.70 and later each
shows its ``tag`` (null: nova-lite keeps none)."""
import flask

from nova_lite import exception
from nova_lite.api import context
from nova_lite.api.middleware import microversion
from nova_lite.api.compute import server_queries
from nova_lite.db.session import reader
from nova_lite.network import ipam, ports


def view(port, addresses):
    body = {"port_state": port.status, "port_id": port.id, "net_id": port.network_id,
            "mac_addr": port.mac_address,
            "fixed_ips": [{"subnet_id": subnet_id, "ip_address": address}
                          for subnet_id, address in addresses]}
    if microversion.requested() >= (2, 70):
        body["tag"] = None
    return body


def _attachments(session, ctx, server_id):
    instance = server_queries.get(session, ctx, server_id)
    found = ports.of_devices(session, [instance.uuid])
    addresses = ipam.addresses_of(session, [p.id for p in found])
    return instance, [(p, addresses[p.id]) for p in found]


def index(server_id):
    with reader() as session:
        _, attached = _attachments(session, context.current(), server_id)
    return flask.jsonify({"interfaceAttachments": [view(p, a) for p, a in attached]})


def show(server_id, port_id):
    with reader() as session:
        instance, attached = _attachments(session, context.current(), server_id)
    for port, addresses in attached:
        if port.id == port_id:
            return flask.jsonify({"interfaceAttachment": view(port, addresses)})
    raise exception.NotFound(f"Instance {instance.uuid} does not have a port {port_id}")


def register(bp):
    bp.add_url_rule("/v2.1/servers/<server_id>/os-interface", "interfaces", index)
    bp.add_url_rule("/v2.1/servers/<server_id>/os-interface/<port_id>", "interface", show)
