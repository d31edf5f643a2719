"""Compute v2.1 (the Nova API subset), one controller module per resource:

    versions   GET /compute/, /compute/v2.1
    flavors    /flavors, /flavors/detail, /flavors/{id}, os-extra_specs
    flavor_access  /flavors/{id}/os-flavor-access, /flavors/{id}/action
                   (add/removeTenantAccess)
    keypairs   /os-keypairs
    server_groups     /os-server-groups (list, create, show, delete)
    servers    /servers, /servers/detail, /servers/{id}   (views in server_views)
    server_actions    /servers/{id}/action (stop, start, reboot, pause, ..., createImage,
                      os-getConsoleOutput, add/removeSecurityGroup)
    server_security_groups  /servers/{id}/os-security-groups
    instance_actions  /servers/{id}/os-instance-actions
    images     /images proxy onto the Image API's table
    quota_sets        /os-quota-sets/{project_id}[/detail|/defaults]
    quota_class_sets  /os-quota-class-sets/{class}
    limits            /limits
    services          /os-services (list, enable/disable, force-down, delete)
    hypervisors       /os-hypervisors (list, detail, show, statistics, servers)
    simple_tenant_usage  /os-simple-tenant-usage[/{tenant_id}]
    proxies (images and the networking ones below but os-interface) exist up
    to microversion 2.35 and are 404 after it, as in Nova (``DEPRECATED``)
    proxies onto the Networking API (nova_lite.network), for older clients:
      networks              /os-networks (list, show)
      floating_ips          /os-floating-ip-pools, /os-floating-ips
      security_groups       /os-security-groups
      security_group_rules  /os-security-group-rules
      interfaces            /servers/{id}/os-interface (list, show)

Handlers are thin: validate, one transaction, a view. Anything slow is handed
to the workers through the outbox, and the handler answers 202 at once.
"""
import flask

from nova_lite.api.compute import (
    flavor_access,
    flavors,
    floating_ips,
    hypervisors,
    images,
    instance_actions,
    interfaces,
    keypairs,
    limits,
    networks,
    quota_class_sets,
    quota_sets,
    security_group_rules,
    security_groups,
    server_actions,
    server_groups,
    server_security_groups,
    servers,
    services,
    simple_tenant_usage,
    versions,
)
from nova_lite.api.middleware import microversion


# Nova's proxy APIs, removed at 2.36 (404 from then on).
DEPRECATED = (images, networks, floating_ips, security_groups, security_group_rules)


class _Until:
    """A blueprint whose routes end after microversion ``last``."""

    def __init__(self, bp, last):
        self.bp, self.last = bp, last

    def add_url_rule(self, rule, endpoint, view, **options):
        self.bp.add_url_rule(rule, endpoint, microversion.until(self.last)(view), **options)


def blueprint():
    bp = flask.Blueprint("compute", __name__, url_prefix="/compute")
    for module in (versions, flavors, flavor_access, keypairs, servers, server_actions,
                   instance_actions, images, server_security_groups, networks, floating_ips,
                   security_groups, security_group_rules, interfaces, quota_sets,
                   quota_class_sets, limits, server_groups, services, hypervisors,
                   simple_tenant_usage):
        module.register(_Until(bp, (2, 35)) if module in DEPRECATED else bp)
    return bp
