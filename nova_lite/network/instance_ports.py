"""The ports of a server: planned from its create request, made in the same
transaction as its row, freed when it is deleted or its build fails.

``networks`` on server create (Compute API 2.1):
  absent, [] or "auto"  the project's own network, else the shared default one
                    (absent and nothing found: no NIC, as Nova 2.1 does)
  "none"            no NIC
  [{"uuid": net, "fixed_ip": addr}, {"port": port_id}, ...]   one NIC each
                    (a fixed_ip only where the policy rule
                    create_port:fixed_ips:ip_address allows: the network's
                    owner or an admin by default)

Everything is checked (``plan``) before the first row is written, and an
address that cannot be had (exhausted pool, address taken) aborts the whole
request: never a half-built server."""
import ipaddress
import uuid
from typing import NamedTuple

from sqlalchemy import bindparam, or_, select, update

from nova_lite import exception
from nova_lite.db import actions, instances, models
from nova_lite.network import exceptions, ports, scope, security_groups


class Nic(NamedTuple):
    network: models.Network
    fixed_ip: str | None = None
    port: models.Port | None = None


def _is_uuid(value):
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _is_ip(value):
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return True


_VISIBLE_NETWORKS = (select(models.Network).where(
    ~models.Network.external,
    or_(models.Network.project_id == bindparam("project_id"), models.Network.shared))
    .order_by(models.Network.created_at, models.Network.id))
_DEFAULT_GROUP = select(models.SecurityGroup.id).where(
    models.SecurityGroup.project_id == bindparam("project_id"),
    models.SecurityGroup.name == security_groups.DEFAULT)


def _visible_networks(session, project_id):
    return session.scalars(_VISIBLE_NETWORKS, {"project_id": project_id}).all()


def _auto_network(session, project_id, required):
    networks = _visible_networks(session, project_id)
    own = [n for n in networks if project_id and n.project_id == project_id]
    for candidates in (own, [n for n in networks if n not in own]):
        if len(candidates) == 1:
            return candidates[0]
        defaults = [n for n in candidates if n.is_default]
        if len(defaults) == 1:
            return defaults[0]
        if candidates:
            raise exception.Conflict("Multiple possible networks found, use a Network "
                                     "ID to be more specific.")
    if required:
        raise exception.Invalid(f"Unable to automatically allocate a network for "
                                f"project {project_id}")
    return None


def _network(session, context, network_id):
    if not _is_uuid(network_id):
        raise exception.Invalid(f"Bad networks format: network uuid is not in proper "
                                f"format ({network_id})")
    # Share-locked: a network deleted at the same moment waits for this request.
    network = session.get(models.Network, network_id,
                          with_for_update={"read": True, "key_share": True})
    if network is None or not (network.shared or scope.owns(context, network.project_id)
                               or context.is_admin):
        raise exception.Invalid(f"Network {network_id} could not be found.")
    if network.external:
        raise exception.Invalid(f"Network {network_id} is external: attach servers to "
                                f"it with a floating IP instead.")
    return network


def _port(session, context, port_id):
    port = session.get(models.Port, port_id, with_for_update=True)
    if port is None or not (scope.owns(context, port.project_id) or context.is_admin):
        raise exception.Invalid(f"Port {port_id} could not be found.")
    if port.device_id:
        raise exception.Conflict(f"Port {port_id} is still in use.")
    return port


def plan(session, context, requested, count):
    """The NICs each server of this request gets (checked, nothing written)."""
    if requested == "none":
        return []
    if requested in (None, "auto") or requested == []:
        # [] is what openstackclient sends at 2.1 when no --nic is given; Nova
        # treats it as "not asked".
        network = _auto_network(session, context.project_id, requested == "auto")
        return [Nic(network)] if network else []
    nics = []
    for item in requested:
        if not isinstance(item, dict):
            raise exception.Invalid("Bad networks format")
        if item.get("port"):
            if count > 1:
                raise exception.Invalid("Unable to launch multiple instances with a "
                                        "single configured port ID. Please launch your "
                                        "instance one by one with different ports.")
            if not _is_uuid(item["port"]):
                raise exception.Invalid(f"Bad networks format: port uuid is not in "
                                        f"proper format ({item['port']})")
            port = _port(session, context, item["port"])
            nics.append(Nic(session.get(models.Network, port.network_id), port=port))
            continue
        network = _network(session, context, item.get("uuid", ""))
        fixed_ip = item.get("fixed_ip")
        if fixed_ip is not None:
            if count > 1:
                raise exception.Invalid("max_count cannot be greater than 1 if an "
                                        "fixed_ip is specified.")
            if not _is_ip(fixed_ip):
                raise exception.Invalid(f"Invalid fixed IP address ({fixed_ip})")
            # The Networking API's rule for choosing an address (the network's
            # owner or an admin by default) holds on this path too (403).
            context.authorize("create_port:fixed_ips:ip_address",
                              {"network:project_id": network.project_id})
        nics.append(Nic(network, fixed_ip=fixed_ip))
    return nics


def security_group_ids(session, context, requested, nics=None):
    """Ids of the groups named in the request ('default' when none). Servers
    without a NIC (``nics`` == []) have no port to put in a group: named groups
    are still checked, the implicit 'default' is not looked up (nor made)."""
    names = [g.get("name") for g in requested or [] if g.get("name")]
    if not names:
        if nics is not None and not nics:
            return []
        found = session.execute(_DEFAULT_GROUP, {"project_id": context.project_id}).scalar()
        if found is not None:
            return [found]
    return security_groups.resolve(session, context.project_id,
                                   names or [security_groups.DEFAULT])


def allocate(session, context, instance_uuids, nics, group_ids):
    """Make (or bind) each NIC's port for each of these servers (in order:
    the first server's NICs, then the next one's)."""
    if not nics:
        return
    subnets = {nic.network.id: ports.subnets_of(session, nic.network.id)
               for nic in nics if nic.port is None}
    for instance_uuid in instance_uuids:
        for nic in nics:
            if nic.port is not None:
                nic.port.device_id = instance_uuid
                nic.port.device_owner = ports.COMPUTE_OWNER
                nic.port.preserve_on_delete = True
                continue
            fixed = [{"ip_address": nic.fixed_ip}] if nic.fixed_ip else None
            try:
                ports.create(session, nic.network, context.project_id,
                             device_id=instance_uuid, device_owner=ports.COMPUTE_OWNER,
                             fixed_ips=fixed, security_group_ids=group_ids,
                             subnets=subnets[nic.network.id], load=False)
            except exceptions.IpAddressExhausted:
                raise exceptions.IpAddressExhausted(
                    network=nic.network.name or nic.network.id) from None


def release(session, instance_uuids):
    """Free the servers' ports: delete the ones made for them, unbind the ones
    the user brought. Returns how many ports were let go."""
    found = ports.of_devices(session, list(instance_uuids))
    for port in found:
        if port.preserve_on_delete:
            session.execute(update(models.Port).where(models.Port.id == port.id).values(
                device_id="", device_owner="", binding_host_id=None, status="DOWN",
                preserve_on_delete=False))
        else:
            ports.delete(session, port.id)
    return len(found)


def delete_server(session, instance_uuid, host=None, task_state=None, message=None):
    """Delete a server in the database alone, with nothing asked of its host:
    soft-deleted and its claim released (``instances.mark_deleted``, whose
    ``host`` and ``task_state`` conditions apply), its ports freed, its
    'delete' action finished with ``message``. True if this call did it."""
    if not instances.mark_deleted(session, instance_uuid, host=host, task_state=task_state):
        return False
    release(session, [instance_uuid])
    actions.finish(session, instance_uuid, "delete", message)
    return True


def bind(session, instance_uuid, host, status=None):
    """Record where the server's ports live (and that they are up)."""
    values = {"binding_host_id": host}
    if status:
        values["status"] = status
    session.execute(update(models.Port).where(
        models.Port.device_id == instance_uuid,
        models.Port.device_owner.startswith("compute:")).values(**values))
