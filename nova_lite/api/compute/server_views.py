"""What a server looks like in the Compute API, at each microversion.

All the version logic of a server's body is here: ``detail`` builds the body
for the request's microversion (nova_lite.api.middleware.microversion) from
the row and what ``load`` read for a page of servers in a few queries. What
changes where (Nova's, field for field as nova-api-samples/servers/ and
Tempest's response schemas show them):

    2.3   admins also see OS-EXT-SRV-ATTR:reservation_id, launch_index,
          kernel_id, ramdisk_id, hostname, root_device_name, user_data
    2.9   locked                        2.16  host_status (admins)
    2.19  description                   2.26  tags
    2.47  flavor embedded (original_name, vcpus, ram, disk, ephemeral, swap,
          extra_specs) instead of its id and links
    2.63  trusted_image_certificates    2.71  server_groups (show, update)
    2.73  locked_reason                 2.75  PUT answers the whole server
    2.90  OS-EXT-SRV-ATTR:hostname for everyone
    2.96  pinned_availability_zone      2.98  image.properties
    2.100 scheduler_hints

Below 2.75 the PUT answer (``kind="update"``) is Nova's short one: no
OS-EXT-*, key_name, security_groups, config_drive or volumes."""
import hashlib
import re
from typing import NamedTuple

from sqlalchemy import select

from nova_lite.api import links
from nova_lite.api.compute import server_addresses
from nova_lite.api.middleware import microversion
from nova_lite.api.timeutil import iso, iso_micro
from nova_lite.db import models
from nova_lite.db import server_groups as group_db
from nova_lite.db import services as service_db
from nova_lite.objects import states

PROGRESS_STATUSES = {"ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING"}

# Who sees a server's host and instance name (Nova's rule; admins by default).
EXTENDED_ATTRIBUTES = "os_compute_api:os-extended-server-attributes"
# Who sees host_status at 2.16 and later (Nova's rule; admins by default).
HOST_STATUS = "os_compute_api:servers:show:host_status"
# Who sees the embedded flavor's extra_specs at 2.47 and later (Nova's).
FLAVOR_EXTRA_SPECS = "os_compute_api:os-flavor-extra-specs:index"

_HOSTNAME_BAD = re.compile(r"[^\w.-]+")
_IMAGE_PROPERTY = re.compile(r"^[a-zA-Z0-9_:. ]{1,255}$")


class Loaded(NamedTuple):
    """What the views of a page of servers need besides their rows."""
    faults: dict            # uuid: newest InstanceFault (ERROR/DELETED servers)
    networks: dict          # uuid: server_addresses.ServerNetwork
    host_status: dict       # host: UP | DOWN | MAINTENANCE | UNKNOWN (2.16, if allowed)
    image_properties: dict  # image id: {name: str} (2.98)
    groups: dict            # uuid: [its server group's uuid] (2.71, show and update)


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


def sanitize_hostname(name):
    """Nova's hostname from a display name: letters, digits, '.' and '-'
    only, at most 63 characters, never empty."""
    hostname = _HOSTNAME_BAD.sub("-", (name or "").replace(" ", "-")).strip(".-").lower()
    return hostname[:63].rstrip(".-") or "server"


def _image_properties(session, image_ids):
    """{image id: its properties as strings} (Nova's image_* system metadata:
    the base properties it keeps and the image's own)."""
    if not image_ids:
        return {}
    found = {}
    for image in session.scalars(select(models.Image)
                                 .where(models.Image.id.in_(sorted(image_ids)))):
        props = {"min_disk": str(image.min_disk), "min_ram": str(image.min_ram)}
        if image.disk_format:
            props["disk_format"] = image.disk_format
        if image.container_format:
            props["container_format"] = image.container_format
        for key, value in (image.properties or {}).items():
            if _IMAGE_PROPERTY.match(key):
                props[key] = None if value is None else str(value)[:255]
        found[image.id] = props
    return found


def load(session, context, instances, version=None, kind="list"):
    """Read what ``detail`` needs for ``instances`` (a few queries whatever
    their number; only what the microversion and ``kind`` show)."""
    version = version or microversion.requested()
    hosts = {}
    if version >= (2, 16) and context.can(HOST_STATUS):
        hosts = service_db.host_statuses(session, {i.host for i in instances if i.host})
    images = {}
    if version >= (2, 98):
        images = _image_properties(session, {i.image_ref for i in instances if i.image_ref})
    groups = {}
    if version >= (2, 71) and kind != "list":
        groups = group_db.groups_of(session, [i.uuid for i in instances])
    return Loaded(faults_for(session, instances),
                  server_addresses.for_servers(session, [i.uuid for i in instances]),
                  hosts, images, groups)


def _flavor(instance, context):
    """The server's flavor as booted (2.47 and later)."""
    snapshot = instance.flavor or {}
    flavor = {"vcpus": snapshot.get("vcpus", instance.vcpus),
              "ram": snapshot.get("memory_mb", instance.memory_mb),
              "disk": snapshot.get("root_gb", instance.root_gb),
              "ephemeral": snapshot.get("ephemeral_gb", instance.ephemeral_gb) or 0,
              "swap": snapshot.get("swap") or 0,
              "original_name": snapshot.get("name") or instance.flavor_id}
    if context.can(FLAVOR_EXTRA_SPECS):
        flavor["extra_specs"] = {k: str(v) for k, v in
                                 (snapshot.get("extra_specs") or {}).items()}
    return flavor


def _image(instance, loaded, version):
    if not instance.image_ref:
        return ""
    image = {"id": instance.image_ref,
             "links": links.bookmark("images", instance.image_ref)}
    if version >= (2, 98):
        image["properties"] = loaded.image_properties.get(instance.image_ref, {})
    return image


def detail(instance, context, loaded, kind="show", version=None):
    """The server's body at ``version`` (default: the request's).

    ``kind``: "show" (GET /servers/{id}), "list" (GET /servers/detail) or
    "update" (the PUT answer)."""
    version = version or microversion.requested()
    network = loaded.networks.get(instance.uuid) or server_addresses.EMPTY
    fault = loaded.faults.get(instance.uuid)
    status = states.status_from_state(instance.vm_state, instance.task_state)
    body = {
        "id": instance.uuid,
        "name": instance.name,
        "status": status,
        "tenant_id": instance.project_id,
        "user_id": instance.user_id,
        "metadata": instance.metadata_ or {},
        "hostId": host_id(instance),
        "image": _image(instance, loaded, version),
        "flavor": (_flavor(instance, context) if version >= (2, 47) else
                   {"id": instance.flavor_id,
                    "links": links.bookmark("flavors", instance.flavor_id)}),
        "created": iso(instance.created_at),
        "updated": iso(instance.updated_at or instance.created_at),
        "addresses": network.addresses,
        "accessIPv4": instance.access_ip_v4 or "",
        "accessIPv6": instance.access_ip_v6 or "",
        "links": links.compute_links("servers", instance.uuid),
        "OS-DCF:diskConfig": "MANUAL",
    }
    if status in PROGRESS_STATUSES:
        body["progress"] = instance.progress or 0
    if fault is not None and status in ("ERROR", "DELETED"):
        body["fault"] = {"code": fault.code, "message": fault.message,
                         "created": iso(fault.created_at)}
        if context.is_admin or fault.code != 500:
            body["fault"]["details"] = fault.details or ""
    full = kind != "update" or version >= (2, 75)
    if full:
        _extended(body, instance, context, loaded, network, version)
    if version >= (2, 9):
        body["locked"] = bool(instance.locked)
    if version >= (2, 19):
        body["description"] = instance.description
    if version >= (2, 26):
        body["tags"] = list(instance.tags or [])
    if version >= (2, 63):
        body["trusted_image_certificates"] = None
    if version >= (2, 71) and kind != "list":
        body["server_groups"] = loaded.groups.get(instance.uuid, [])
    if version >= (2, 73):
        body["locked_reason"] = instance.locked_reason
    if version >= (2, 96):
        body["pinned_availability_zone"] = instance.availability_zone
    if version >= (2, 100):
        body["scheduler_hints"] = instance.scheduler_hints or {}
    return body


def _extended(body, instance, context, loaded, network, version):
    """What GET shows and the PUT answer leaves out below 2.75."""
    body.update({
        "key_name": instance.key_name,
        "config_drive": instance.config_drive or "",
        "OS-EXT-AZ:availability_zone": instance.availability_zone or "nova",
        "OS-EXT-STS:power_state": instance.power_state,
        "OS-EXT-STS:task_state": instance.task_state,
        "OS-EXT-STS:vm_state": instance.vm_state,
        "OS-SRV-USG:launched_at": iso_micro(instance.launched_at),
        "OS-SRV-USG:terminated_at": iso_micro(instance.terminated_at),
        "os-extended-volumes:volumes_attached": [],
        "security_groups": network.security_groups,
    })
    hostname = instance.hostname or sanitize_hostname(instance.name)
    if context.can(EXTENDED_ATTRIBUTES):
        body["OS-EXT-SRV-ATTR:host"] = instance.host
        body["OS-EXT-SRV-ATTR:hypervisor_hostname"] = instance.node
        body["OS-EXT-SRV-ATTR:instance_name"] = f"instance-{instance.id:08x}"
        if version >= (2, 3):
            body.update({
                "OS-EXT-SRV-ATTR:reservation_id": instance.reservation_id,
                "OS-EXT-SRV-ATTR:launch_index": instance.launch_index or 0,
                "OS-EXT-SRV-ATTR:kernel_id": "",
                "OS-EXT-SRV-ATTR:ramdisk_id": "",
                "OS-EXT-SRV-ATTR:hostname": hostname,
                "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
                "OS-EXT-SRV-ATTR:user_data": instance.user_data,
            })
    elif version >= (2, 90):
        body["OS-EXT-SRV-ATTR:hostname"] = hostname
    if version >= (2, 16) and context.can(HOST_STATUS):
        body["host_status"] = (loaded.host_status.get(instance.host, "UNKNOWN")
                               if instance.host else "")
