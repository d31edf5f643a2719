"""Networking v2 rules, named as Neutron names them (neutron/conf/policies/*),
paths relative to /network/v2.0. Rules with a ``:attribute`` suffix refine
their resource's rule: the handler (or nova_lite.network, through the
context) checks them when the request sets that attribute."""
from oslo_policy import policy

from nova_lite.api.policies import base

_rule = base.rule
_refine = base.refine

NETWORK_OWNER = "rule:network_owner"
# Neutron's ADMIN_OR_NET_OWNER_MEMBER: admin, or a member of the network's project.
ADMIN_OR_NETWORK_OWNER = ("rule:context_is_admin or ((role:member or role:admin) and "
                          "rule:network_owner)")

N = ("/networks", "/networks/{network_id}")
S = ("/subnets", "/subnets/{subnet_id}")
PT = ("/ports", "/ports/{port_id}")
F = ("/floatingips", "/floatingips/{floatingip_id}")
SG = ("/security-groups", "/security-groups/{security_group_id}")
SGR = ("/security-group-rules", "/security-group-rules/{security_group_rule_id}")


def _crud(resource, paths, reader=base.PROJECT_READER_OR_ADMIN,
          member=base.PROJECT_MEMBER_OR_ADMIN, create=None, update=True):
    collection, item = paths
    name = resource.replace("_", " ")
    made = [
        _rule(f"create_{resource}", create or member, f"Create a {name}",
              ("POST", collection)),
        _rule(f"get_{resource}", reader, f"List or show {name}s",
              ("GET", collection), ("GET", item)),
        _rule(f"delete_{resource}", member, f"Delete a {name}", ("DELETE", item)),
    ]
    if update:
        made.append(_rule(f"update_{resource}", member, f"Update a {name}",
                          ("PUT", item)))
    return made


def _attributes(action, paths, attributes, check_str=base.ADMIN):
    method, path = {"create": ("POST", paths[0]), "update": ("PUT", paths[1])}[action]
    resource = paths[0].strip("/").rstrip("s").replace("-", "_")
    return [_refine(f"{action}_{resource}:{attribute}", check_str,
                    f"{action.capitalize()} a {resource} with ``{attribute}`` set",
                    (method, path)) for attribute in attributes]


rules = [
    policy.RuleDefault("network_owner", "project_id:%(network:project_id)s",
                       "The caller's project owns the network the resource is on."),
    *_crud("network", N),
    *_attributes("create", N, ("shared", "router:external", "is_default",
                               "provider:network_type", "provider:physical_network",
                               "provider:segmentation_id")),
    *_attributes("update", N, ("shared", "router:external", "is_default")),
    _refine("get_network:provider:segmentation_id", base.ADMIN,
            "See a network's provider attributes", ("GET", N[0]), ("GET", N[1])),
    *_crud("subnet", S),
    *_crud("port", PT),
    *_attributes("create", PT, ("fixed_ips:ip_address", "mac_address"),
                 ADMIN_OR_NETWORK_OWNER),
    *_attributes("create", PT, ("binding:host_id", "device_owner", "device_id")),
    *_attributes("update", PT, ("binding:host_id", "device_owner", "device_id")),
    *_crud("floatingip", F),
    *_attributes("create", F, ("floating_ip_address",)),
    *_crud("security_group", SG),
    *_crud("security_group_rule", SGR, update=False),
    _rule("get_extension", base.PROJECT_READER_OR_ADMIN,
          "List or show the API's extensions (nova-lite's own rule: Neutron checks none)",
          ("GET", "/extensions"), ("GET", "/extensions/{alias}")),
    # quotas (served by the quota endpoints once they exist)
    _rule("get_quota", base.PROJECT_READER_OR_ADMIN, "Show a project's quotas",
          ("GET", "/quotas"), ("GET", "/quotas/{project_id}"),
          ("GET", "/quotas/{project_id}/default"), ("GET", "/quotas/{project_id}/details")),
    _rule("update_quota", base.ADMIN, "Update a project's quotas",
          ("PUT", "/quotas/{project_id}")),
    _rule("delete_quota", base.ADMIN, "Revert a project's quotas to defaults",
          ("DELETE", "/quotas/{project_id}")),
]


def list_rules():
    return rules
