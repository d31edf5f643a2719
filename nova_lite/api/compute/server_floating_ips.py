"""Server actions addFloatingIp / removeFloatingIp (202), the compute API's
way (older clients and scripts) to do what ``PUT /network/v2.0/floatingips``
does: map one of the project's floating IPs to a fixed address of the server."""
from sqlalchemy import select

from nova_lite import exception
from nova_lite.api import context, relay, validation
from nova_lite.api.compute import server_queries
from nova_lite.db import models
from nova_lite.db.session import transaction
from nova_lite.network import floating_ips, ipam, ports

ADD_SCHEMA = {"type": "object", "required": ["address"], "additionalProperties": False,
              "properties": {"address": {"type": "string", "format": "ip-address"},
                             "fixed_address": {"type": "string", "format": "ip-address"}}}
REMOVE_SCHEMA = {"type": "object", "required": ["address"], "additionalProperties": False,
                 "properties": {"address": {"type": "string", "format": "ip-address"}}}


def _floating_ip(session, ctx, address):
    fip = session.scalars(floating_ips.visible(ctx).where(
        models.FloatingIP.floating_ip_address == address).with_for_update()).first()
    if fip is None:
        raise exception.NotFound(f"floating IP not found: {address}")
    return fip


def _port_for(session, instance, fixed_address):
    found = ports.of_devices(session, [instance.uuid])
    if not found:
        raise exception.Invalid(f"Instance {instance.uuid} has no network port to "
                                f"associate a floating IP with.")
    if fixed_address is None:
        return found[0], None
    held = ipam.addresses_of(session, [p.id for p in found])
    for port in found:
        if any(address == fixed_address for _, address in held[port.id]):
            return port, fixed_address
    raise exception.Invalid(f"Specified fixed address {fixed_address} not assigned to "
                            f"instance")


def add(server_id, value):
    validation.check(ADD_SCHEMA, value)
    ctx = context.current()
    with transaction() as session:
        instance = server_queries.get(session, ctx, server_id)
        fip = _floating_ip(session, ctx, value["address"])
        port, fixed = _port_for(session, instance, value.get("fixed_address"))
        floating_ips.associate(session, ctx, fip, port.id, fixed)
    relay.wake()
    return "", 202


def remove(server_id, value):
    validation.check(REMOVE_SCHEMA, value)
    ctx = context.current()
    with transaction() as session:
        instance = server_queries.get(session, ctx, server_id)
        fip = _floating_ip(session, ctx, value["address"])
        mine = set(session.scalars(select(models.Port.id).where(
            models.Port.device_id == instance.uuid)))
        if fip.port_id not in mine:
            raise exception.Conflict(f"Floating IP {value['address']} is not associated "
                                     f"with instance {instance.uuid}.")
        floating_ips.disassociate(session, ctx, fip)
    relay.wake()
    return "", 202
