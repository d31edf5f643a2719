"""GET /v2.0/extensions[/{alias}]: the Neutron extensions this API really
implements (clients check for some before using an attribute). Not listed,
because not implemented: router, tag, dns-integration,
allowed-address-pairs,
standard-attr-revisions, stateful-security-group, filter-validation, ..."""
import flask

from nova_lite import exception

UPDATED = "2026-11-22T00:00:00Z"
EXTENSIONS = (
    ("external-net", "Neutron external network",
     "Adds external network attribute (router:external) to network resources."),
    ("security-group", "security-group",
     "The security groups extension."),
    ("port-security", "Port Security",
     "Provides port security (port_security_enabled on ports)."),
    ("port-security-groups-filtering", "Port filtering on security groups",
     "Provides security groups filtering when listing ports."),
    ("binding", "Port Binding",
     "Expose port bindings of a virtual port (read-only: set by the compute hosts)."),
    ("standard-attr-description", "standard-attr-description",
     "Extension to add descriptions to standard attributes."),
    ("project-id", "project_id field enabled",
     "Extension that indicates that project_id field is enabled."),
    ("provider", "Provider Network",
     "Expose mapping of virtual networks to physical networks (read-only: every "
     "network is a VXLAN segment with an allocated VNI; admins only)."),
    ("net-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
    ("net-mtu-writable", "Network MTU (writable)",
     "Provides a writable MTU attribute for a network resource."),
    ("pagination", "Pagination support",
     "Extension that indicates that pagination is enabled."),
    ("sorting", "Sorting support", "Extension that indicates that sorting is enabled."),
    ("quotas", "Quota management support",
     "Expose functions for quotas management per project."),
    ("quota_details", "Quota details management support",
     "Expose functions for quotas usage statistics per project."),
    ("quota-check-limit", "Quota engine limit check",
     "Support for checking the resource usage before applying a new quota limit."),
)


def _view(alias, name, description):
    return {"alias": alias, "name": name, "description": description,
            "updated": UPDATED, "links": []}


def index():
    return flask.jsonify({"extensions": [_view(*e) for e in EXTENSIONS]})


class ExtensionNotFound(exception.NotFound):
    neutron_type = "HTTPNotFound"
    message = "Extension with alias %(alias)s does not exist"


def show(alias):
    for extension in EXTENSIONS:
        if extension[0] == alias:
            return flask.jsonify({"extension": _view(*extension)})
    raise ExtensionNotFound(alias=alias)


def register(bp):
    bp.add_url_rule("/v2.0/extensions", "extensions", index)
    bp.add_url_rule("/v2.0/extensions/<alias>", "extension", show)
