"""GET /limits: the project's limits and what it uses (Nova's ``absolute``
section; ``rate`` is always empty). An admin may ask for another
project's with ``?tenant_id=``. Nova's microversions drop keys: at 2.36 the
network ones (Neutron's), at 2.39 maxImageMeta, at 2.57 the personality ones
(``GONE``)."""
import flask

from nova_lite.api import context
from nova_lite.api.middleware import microversion
from nova_lite.db import quotas
from nova_lite.db.session import reader

# absolute key -> quota resource
MAXIMA = {
    "maxImageMeta": "metadata_items",
    "maxPersonality": "injected_files",
    "maxPersonalitySize": "injected_file_content_bytes",
    "maxSecurityGroupRules": "security_group_rules",
    "maxSecurityGroups": "security_groups",
    "maxServerMeta": "metadata_items",
    "maxTotalCores": "cores",
    "maxTotalFloatingIps": "floating_ips",
    "maxTotalInstances": "instances",
    "maxTotalKeypairs": "key_pairs",
    "maxTotalRAMSize": "ram",
    "maxServerGroups": "server_groups",
    "maxServerGroupMembers": "server_group_members",
}
USED = {"totalCoresUsed": "cores", "totalInstancesUsed": "instances",
        "totalRAMUsed": "ram"}
# Nova counts these nowhere at 2.1 with Neutron: always 0.
NOT_COUNTED = ("totalSecurityGroupsUsed", "totalFloatingIpsUsed", "totalServerGroupsUsed")
# The first microversion without each key.
GONE = {(2, 36): ("maxSecurityGroupRules", "maxSecurityGroups", "maxTotalFloatingIps",
                  "totalFloatingIpsUsed", "totalSecurityGroupsUsed"),
        (2, 39): ("maxImageMeta",),
        (2, 57): ("maxPersonality", "maxPersonalitySize")}


def index():
    ctx = context.current()
    project_id = flask.request.args.get("tenant_id") or ctx.project_id
    if project_id != ctx.project_id:
        ctx.authorize("os_compute_api:limits:other_project", {"project_id": project_id})
    with reader() as session:
        limits = quotas.limits(session, project_id)
        used = quotas.usage(session, project_id)
    absolute = {key: limits[resource] for key, resource in MAXIMA.items()}
    absolute.update({key: used[resource] for key, resource in USED.items()})
    absolute.update(dict.fromkeys(NOT_COUNTED, 0))
    version = microversion.requested()
    for since, keys in GONE.items():
        if version >= since:
            for key in keys:
                del absolute[key]
    return flask.jsonify({"limits": {"absolute": absolute, "rate": []}})


def register(bp):
    bp.add_url_rule("/v2.1/limits", "limits", index)
