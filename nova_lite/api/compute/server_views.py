"""What a server looks like in the Compute API (v2.1 shapes, field for field
as nova-api-samples/servers/ shows them)."""
import hashlib

from sqlalchemy import select

from nova_lite.api import links
from nova_lite.api.timeutil import iso, iso_micro
from nova_lite.db import models
from nova_lite.objects import states

PROGRESS_STATUSES = {"ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING"}

# Who sees a server's host and instance name (Nova's rule; admins by default).
EXTENDED_ATTRIBUTES = "os_compute_api:os-extended-server-attributes"


def host_id(instance):
    """Opaque per-project host id, as Nova computes it."""
    if not instance.host:
        return ""
    return hashlib.sha224((instance.project_id + instance.host).encode()).hexdigest()


def summary(instance):
    return {"id": instance.uuid, "name": instance.name,
            "links": links.compute_links("servers", instance.uuid)}


def faults_for(session, instances):
    """The newest fault of each instance that is in ERROR (one query)."""
    wanted = [i.uuid for i in instances if i.vm_state in (states.ERROR, states.DELETED)]
    if not wanted:
        return {}
    rows = session.scalars(select(models.InstanceFault)
                           .where(models.InstanceFault.instance_uuid.in_(wanted))
                           .order_by(models.InstanceFault.id)).all()
    return {row.instance_uuid: row for row in rows}   # later rows win: newest


def detail(instance, context, fault=None, network=None):
    """``network`` is the server's server_addresses.ServerNetwork (None: no ports)."""
    status = states.status_from_state(instance.vm_state, instance.task_state)
    body = {
        "id": instance.uuid,
        "name": instance.name,
        "status": status,
        "tenant_id": instance.project_id,
        "user_id": instance.user_id,
        "metadata": instance.metadata_ or {},
        "hostId": host_id(instance),
        "image": ({"id": instance.image_ref, "links": links.bookmark("images",
                                                                      instance.image_ref)}
                  if instance.image_ref else ""),
        "flavor": {"id": instance.flavor_id,
                   "links": links.bookmark("flavors", instance.flavor_id)},
        "created": iso(instance.created_at),
        "updated": iso(instance.updated_at or instance.created_at),
        "addresses": network.addresses if network else {},
        "accessIPv4": instance.access_ip_v4 or "",
        "accessIPv6": instance.access_ip_v6 or "",
        "links": links.compute_links("servers", instance.uuid),
        "key_name": instance.key_name,
        "config_drive": instance.config_drive or "",
        "OS-DCF:diskConfig": "MANUAL",
        "OS-EXT-AZ:availability_zone": instance.availability_zone or "nova",
        "OS-EXT-STS:power_state": instance.power_state,
        "OS-EXT-STS:task_state": instance.task_state,
        "OS-EXT-STS:vm_state": instance.vm_state,
        "OS-SRV-USG:launched_at": iso_micro(instance.launched_at),
        "OS-SRV-USG:terminated_at": iso_micro(instance.terminated_at),
        "os-extended-volumes:volumes_attached": [],
        "security_groups": network.security_groups if network else [],
    }
    if status in PROGRESS_STATUSES:
        body["progress"] = instance.progress or 0
    if context.can(EXTENDED_ATTRIBUTES):
        body["OS-EXT-SRV-ATTR:host"] = instance.host
        body["OS-EXT-SRV-ATTR:hypervisor_hostname"] = instance.node
        body["OS-EXT-SRV-ATTR:instance_name"] = f"instance-{instance.id:08x}"
    if fault is not None and status in ("ERROR", "DELETED"):
        body["fault"] = {"code": fault.code, "message": fault.message,
                         "created": iso(fault.created_at)}
        if context.is_admin or fault.code != 500:
            body["fault"]["details"] = fault.details or ""
    return body
