"""POST /servers: check the request, then write the instance rows, their
'create' actions and one outbox message each, in one transaction.

Its ports (addresses, groups) are made in that same transaction, so an
exhausted network fails the request, never a server half-built.

Nothing here waits for a worker: the conductor picks the build up from the
outbox, and the client polls GET /servers/{id} for BUILD -> ACTIVE."""
import base64
import binascii
import copy
import functools
import secrets
import string
import uuid

from sqlalchemy import insert, select

from nova_lite import exception
from nova_lite.api import policy, validation
from nova_lite.api.compute import flavor_cache, server_views
from nova_lite.api.image import queries as image_queries
from nova_lite.api.middleware import microversion
from nova_lite.db import actions, models
from nova_lite.db import flavors as flavor_db
from nova_lite.db import instances as instance_db
from nova_lite.db import quotas
from nova_lite.db import server_groups as groups_db
from nova_lite.network import instance_ports
from nova_lite.objects import states
from nova_lite.rpc import casts, outbox

MAX_COUNT = 1000

_COUNT = {"type": ["integer", "string"], "pattern": r"^[0-9]+$", "minimum": 1}
DESCRIPTION = {"type": ["string", "null"], "maxLength": 255,
               "pattern": r"^[^\x00-\x1f\x7f]*$"}                     # 2.19
TAG = {"type": "string", "minLength": 1, "maxLength": 60, "pattern": r"^[^,/]*$"}
TAGS = {"type": "array", "items": TAG, "maxItems": 50}                   # 2.52
# 2.90: an RFC 1123 hostname label (2.94: or a name with dots, up to 255).
HOSTNAME = {"type": "string", "minLength": 2, "maxLength": 63,
            "pattern": r"^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$"}
HOSTNAME_FQDN = {"type": "string", "minLength": 2, "maxLength": 255,
                 "pattern": r"^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$"}
_UUID = {"type": "string", "format": "uuid"}
_UUIDS = {"oneOf": [_UUID, {"type": "array", "items": _UUID}]}
# Nova's scheduler hints (others are accepted and ignored, as Nova does).
HINTS = {
    "type": "object",
    "properties": {
        "group": _UUID,
        "same_host": _UUIDS,
        "different_host": _UUIDS,
        "build_near_host_ip": {"type": "string", "oneOf": [{"format": "ipv4"},
                                                           {"format": "ipv6"}]},
        "cidr": {"type": "string", "pattern": r"^/[0-9]{1,3}$"},
    },
    "additionalProperties": True,
}
_NETWORK = {"type": "object", "additionalProperties": False,
            "properties": {"uuid": {"type": "string"},
                           "port": {"type": ["string", "null"]},
                           "fixed_ip": {"type": "string"}}}


def _server_properties():
    return {
        "name": validation.NAME,
        "imageRef": {"type": "string"},
        "flavorRef": {"type": ["string", "integer"], "minLength": 1},
        "key_name": {"type": "string", "minLength": 1, "maxLength": 255},
        "metadata": {"type": "object",
                     "additionalProperties": {"type": "string", "maxLength": 255},
                     "propertyNames": {"minLength": 1, "maxLength": 255}},
        "user_data": {"type": "string", "maxLength": 65535},
        "availability_zone": {"type": "string", "minLength": 1, "maxLength": 255},
        "min_count": _COUNT,
        "max_count": _COUNT,
        "return_reservation_id": {"type": ["boolean", "string"]},
        "adminPass": {"type": "string"},
        "accessIPv4": {"type": "string", "format": "ipv4"},
        "accessIPv6": {"type": "string", "format": "ipv6"},
        "config_drive": {"type": ["boolean", "string", "null"]},
        "OS-DCF:diskConfig": {"enum": ["AUTO", "MANUAL"]},
        "security_groups": {"type": "array", "items": {
            "type": "object", "properties": {"name": {"type": "string"}}}},
        "networks": {"type": "array", "items": _NETWORK},
        "block_device_mapping": {"type": "array"},
        "block_device_mapping_v2": {"type": "array"},
    }


@functools.lru_cache(maxsize=None)
def schema_for(version):
    """The POST /servers body schema at microversion ``version`` (Nova's
    changes: 2.19 description, 2.32 networks' tag, 2.37 networks required,
    2.52 tags, 2.90 hostname, 2.94 FQDN hostname)."""
    server = {"type": "object", "required": ["name", "flavorRef"],
              "additionalProperties": False, "properties": _server_properties()}
    props = server["properties"]
    if version >= (2, 19):
        props["description"] = DESCRIPTION
    if version >= (2, 32):
        network = copy.deepcopy(_NETWORK)
        network["properties"]["tag"] = TAG
        props["networks"] = {"type": "array", "items": network}
    # "auto" and "none" are taken at every version (Nova's from 2.37; the
    # nova-lite CLI and tools/flood.py send them at 2.1); required from 2.37.
    props["networks"] = {"oneOf": [props["networks"], {"enum": ["auto", "none"]}]}
    if version >= (2, 37):
        server["required"] = ["name", "flavorRef", "networks"]
    if version >= (2, 52):
        props["tags"] = TAGS
    if version >= (2, 90):
        props["hostname"] = HOSTNAME_FQDN if version >= (2, 94) else HOSTNAME
    return {
        "type": "object", "required": ["server"],
        "properties": {
            "server": server,
            "os:scheduler_hints": HINTS,
            "OS-SCH-HNT:scheduler_hints": HINTS,
        },
        "additionalProperties": False,
    }


def schema():
    """The create schema of this request's microversion."""
    return schema_for(microversion.requested())


SCHEMA = schema_for((2, 1))


def find_flavor(session, context, flavor_ref):
    """The flavor asked for, if this caller may boot it: a private flavor not
    granted to its project is refused exactly as a nonexistent one."""
    flavorid = str(flavor_ref).rstrip("/").rsplit("/", 1)[-1]
    flavor = flavor_cache.lookup(session, flavorid)
    if (flavor is None or flavor.disabled
            or not (flavor.is_public or context.is_admin
                    or flavor_db.granted(session, flavor.pk, context.project_id))):
        raise exception.Invalid(f"Flavor {flavorid} could not be found.")
    return flavor


def find_image(session, context, image_ref):
    """(id, status, min_ram, min_disk) of the visible, active image asked for."""
    if not image_ref:
        raise exception.Invalid("Missing imageRef attribute")
    image_id = str(image_ref).rstrip("/").rsplit("/", 1)[-1]
    if not validation.is_uuid(image_id):
        raise exception.Invalid(f"Invalid imageRef provided: {image_ref}")
    image = image_queries.boot_facts(session, context, image_id)
    if image is None:
        raise exception.Invalid(f"Image {image_id} could not be found.")
    if image.status != "active":
        raise exception.Invalid(f"Image {image_id} is not active.")
    return image


def _keypair(session, context, key_name):
    if not key_name:
        return None
    keypair = session.scalars(select(models.KeyPair).where(
        models.KeyPair.user_id == context.user_id, models.KeyPair.name == key_name)).first()
    if keypair is None:
        raise exception.Invalid("Invalid key_name provided.")
    return keypair


def _user_data(value):
    if value is None:
        return None
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise exception.Invalid("User data needs to be valid base 64.") from None
    return value


def _counts(spec):
    min_count = int(spec.get("min_count", 1))
    max_count = int(spec.get("max_count", min_count))
    if min_count > max_count:
        raise exception.Invalid("min_count must be <= max_count")
    if max_count > MAX_COUNT:
        raise exception.Invalid(f"max_count must be <= {MAX_COUNT}")
    return min_count, max_count


def per_server(flavor):
    """What one server of ``flavor`` counts against each quota."""
    return {"instances": 1, "cores": flavor.vcpus, "ram": flavor.memory_mb}


def _fitting(session, context, flavor, min_count, max_count):
    """How many servers to make: all when the request names one count (the
    triggers check it at commit); for a range, as many as fit between min and
    max (Nova's), read without locks: the triggers still decide at commit."""
    if min_count == max_count or not quotas.enforced():
        return max_count
    amounts = per_server(flavor)
    fits, resource = quotas.headroom(session, context.project_id, context.user_id,
                                     amounts)
    if fits is None or fits >= max_count:
        return max_count
    if fits < min_count:
        used = quotas.usage(session, context.project_id)[resource]
        limit = quotas.limits(session, context.project_id)[resource]
        raise quotas.OverQuota(resource, min_count * amounts[resource], used, limit)
    return fits


def _check_metadata(session, context, metadata):
    """Nova's metadata_items limit on the server's metadata (403 past it)."""
    if not metadata or not quotas.enforced():
        return
    limit = quotas.limits(session, context.project_id, context.user_id)["metadata_items"]
    if 0 <= limit < len(metadata):
        raise quotas.OverQuota("metadata_items", len(metadata), 0, limit)


def explain(session, context, over, count):
    """The trigger's refusal of ``count`` servers in Nova's words: what the
    whole request asked for and what was in use without it (read after the
    rollback)."""
    if over.resource not in ("instances", "cores", "ram"):
        return over
    used = quotas.usage(session, context.project_id, over.user_id)[over.resource]
    return quotas.OverQuota(over.resource, over.requested * count, used, over.limit,
                            over.user_id)


def _check_fit(flavor, image):
    if image.min_ram and flavor.memory_mb < image.min_ram:
        raise exception.Invalid("Flavor's memory is too small for requested image.")
    if image.min_disk and flavor.root_gb and flavor.root_gb < image.min_disk:
        raise exception.Invalid("Flavor's disk is too small for requested image.")


def flavor_snapshot(flavor):
    return {"flavorid": flavor.flavorid, "name": flavor.name, "vcpus": flavor.vcpus,
            "memory_mb": flavor.memory_mb, "root_gb": flavor.root_gb,
            "ephemeral_gb": flavor.ephemeral_gb, "swap": flavor.swap,
            "extra_specs": flavor.extra_specs or {}}


_PASSWORD_ALPHABET = string.ascii_letters + string.digits
_PASSWORD_BYTES = 256 - 256 % len(_PASSWORD_ALPHABET)    # unbiased: 248 = 4 x 62


def admin_password(length=12):
    """``length`` random letters and digits (uniform: bytes past 247 are redrawn)."""
    chars = []
    while len(chars) < length:
        chars += [_PASSWORD_ALPHABET[b % len(_PASSWORD_ALPHABET)]
                  for b in secrets.token_bytes(length * 2) if b < _PASSWORD_BYTES]
    return "".join(chars[:length])


def _zone(context, value):
    """(availability zone, forced host, forced node) of ``availability_zone``:
    ``zone``, or an admin's ``zone:host[:node]`` (``zone::node``) forcing a
    host (os_compute_api:servers:create:forced_host)."""
    if not value or ":" not in value:
        return value, None, None
    zone, _, rest = value.partition(":")
    host, _, node = rest.partition(":")
    if not host and not node:
        return zone or None, None, None
    policy.authorize_for(context, "os_compute_api:servers:create:forced_host")
    return zone or None, host or None, node or None


def _spec_rows(session, context, body, count, force_host, force_node):
    """RequestSpec values for the servers (None if they ask the scheduler for
    nothing but their flavor): the ``group`` hint's group, locked, its
    ``server_group_members`` quota checked for ``count`` more."""
    hints = dict(body.get("os:scheduler_hints") or body.get("OS-SCH-HNT:scheduler_hints")
                 or {})
    kept = {}
    for key in ("same_host", "different_host"):
        if key in hints:
            value = hints[key]
            kept[key] = [value] if isinstance(value, str) else list(value)
    if hints.get("build_near_host_ip"):
        kept["build_near_host_ip"] = hints["build_near_host_ip"]
        kept["cidr"] = hints.get("cidr") or "/24"
    group_id = None
    if hints.get("group"):
        try:
            group = groups_db.get(session, hints["group"],
                                  None if context.is_admin else context.project_id or "",
                                  lock=True)
        except exception.NotFound:
            raise exception.Invalid(f"Invalid server group {hints['group']}: not "
                                    "found.") from None
        groups_db.add_members(session, group, count, context.user_id)
        group_id = group.id
    if not kept and group_id is None and force_host is None and force_node is None:
        return None
    return {"group_id": group_id, "hints": kept, "force_host": force_host,
            "force_node": force_node}


def create(session, context, body):
    """Write the rows for a create request; return (instance uuids, reservation_id).

    Quotas are checked by the database at commit (migration 0011's triggers
    count the instances and their ports); a multi-create with a range first
    reads how many fit (``_fitting``). One INSERT each (executemany for a multi-create) for the instances, their
    'create' actions and their outbox messages, after the checks' reads and
    each server's ports."""
    spec = body["server"]
    min_count, max_count = _counts(spec)
    flavor = find_flavor(session, context, spec["flavorRef"])
    image = find_image(session, context, spec.get("imageRef"))
    _check_fit(flavor, image)
    _check_metadata(session, context, spec.get("metadata"))
    count = _fitting(session, context, flavor, min_count, max_count)
    keypair = _keypair(session, context, spec.get("key_name"))
    user_data = _user_data(spec.get("user_data"))
    networks = spec.get("networks")
    if networks == "auto" and microversion.requested() >= (2, 37):
        # From 2.37 clients (openstackclient, the SDK) send "auto" where they
        # sent nothing before: it keeps meaning that (the project's network,
        # else no NIC), not a 400 for a project without networks.
        networks = None
    zone, force_host, force_node = _zone(context, spec.get("availability_zone"))
    spec_row = _spec_rows(session, context, body, count, force_host, force_node)
    nics = instance_ports.plan(session, context, networks, count)
    group_ids = instance_ports.security_group_ids(session, context,
                                                  spec.get("security_groups"), nics)
    reservation_id = "r-" + secrets.token_hex(4)
    rpc_context = context.to_rpc()
    common = {
        "project_id": context.project_id, "user_id": context.user_id,
        "image_ref": image.id, "flavor_id": flavor.flavorid,
        "flavor": flavor_snapshot(flavor), "vcpus": flavor.vcpus,
        "memory_mb": flavor.memory_mb, "root_gb": flavor.root_gb,
        "ephemeral_gb": flavor.ephemeral_gb,
        "key_name": keypair.name if keypair else None,
        "key_data": keypair.public_key if keypair else None,
        "user_data": user_data, "metadata": spec.get("metadata") or {},
        "availability_zone": zone,
        "reservation_id": reservation_id,
        "config_drive": "True" if str(spec.get("config_drive", "")).lower()
        in ("true", "1") else "",
        "access_ip_v4": spec.get("accessIPv4"), "access_ip_v6": spec.get("accessIPv6"),
        "description": spec.get("description"),
        "tags": sorted(set(spec.get("tags") or [])),
        "scheduler_hints": (body.get("os:scheduler_hints")
                            or body.get("OS-SCH-HNT:scheduler_hints") or {}),
        "vm_state": states.BUILDING, "task_state": states.SCHEDULING,
        "power_state": states.NOSTATE,
    }
    rows = []
    for index in range(count):
        name = spec["name"] if count == 1 else f"{spec['name']}-{index + 1}"
        now = models.utcnow()
        hostname = spec.get("hostname") or server_views.sanitize_hostname(name)
        if count > 1 and spec.get("hostname"):
            hostname = f"{spec['hostname']}-{index + 1}"
        rows.append(dict(common, uuid=str(uuid.uuid4()), name=name, launch_index=index,
                         hostname=hostname,
                         created_at=now, task_updated_at=now))
    uuids = [row["uuid"] for row in rows]
    instance_db.create_many(session, rows)
    if spec_row is not None:
        session.execute(insert(models.RequestSpec),
                        [dict(spec_row, instance_uuid=u) for u in uuids])
    instance_ports.allocate(session, context, uuids, nics, group_ids)
    actions.start_many(session, uuids, "create", rpc_context)
    outbox.enqueue_many(session, casts.build_instances(uuids), rpc_context)
    return uuids, reservation_id
