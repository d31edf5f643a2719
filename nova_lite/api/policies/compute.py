"""Compute v2.1 rules, named as Nova names them (nova/policies/*), paths
relative to /compute/v2.1. A few endpoints Nova guards with no rule of its own
(flavor and image reads) get one here, because every nova-lite endpoint
checks one; their names say so in their descriptions."""
from nova_lite.api.policies import base

P = "os_compute_api:"
SERVER_ACTION = ("POST", "/servers/{server_id}/action")


_rule = base.rule
_refine = base.refine


def _action(name, check_str, description, action):
    """A server action: its rule is chosen by the body's key (checked by
    the action handler, not the route)."""
    return _rule(name, check_str, f"{description} (action ``{action}``)", SERVER_ACTION)


rules = [
    # servers
    _rule(P + "servers:index", base.PROJECT_READER_OR_ADMIN, "List servers",
          ("GET", "/servers")),
    _rule(P + "servers:detail", base.PROJECT_READER_OR_ADMIN, "List servers with details",
          ("GET", "/servers/detail")),
    _refine(P + "servers:index:get_all_tenants", base.ADMIN,
          "List servers of every project (``all_tenants``)", ("GET", "/servers")),
    _refine(P + "servers:detail:get_all_tenants", base.ADMIN,
          "List servers of every project with details (``all_tenants``)",
          ("GET", "/servers/detail")),
    _rule(P + "servers:show", base.PROJECT_READER_OR_ADMIN, "Show a server",
          ("GET", "/servers/{server_id}")),
    _refine(P + "os-extended-server-attributes", base.ADMIN,
            "See a server's host, hypervisor_hostname and instance_name "
            "(OS-EXT-SRV-ATTR:*)", ("GET", "/servers/{server_id}"),
            ("GET", "/servers/detail"), ("PUT", "/servers/{server_id}")),
    _rule(P + "servers:create", base.PROJECT_MEMBER_OR_ADMIN, "Create a server",
          ("POST", "/servers")),
    _refine(P + "servers:create:forced_host", base.ADMIN,
            "Create a server on a given host (availability_zone ``zone:host[:node]``)",
            ("POST", "/servers")),
    _rule(P + "servers:update", base.PROJECT_MEMBER_OR_ADMIN, "Update a server",
          ("PUT", "/servers/{server_id}")),
    _rule(P + "servers:delete", base.PROJECT_MEMBER_OR_ADMIN, "Delete a server",
          ("DELETE", "/servers/{server_id}")),
    _action(P + "servers:reboot", base.PROJECT_MEMBER_OR_ADMIN, "Reboot a server", "reboot"),
    _action(P + "servers:start", base.PROJECT_MEMBER_OR_ADMIN, "Start a server", "os-start"),
    _action(P + "servers:stop", base.PROJECT_MEMBER_OR_ADMIN, "Stop a server", "os-stop"),
    _action(P + "servers:create_image", base.PROJECT_MEMBER_OR_ADMIN,
            "Create an image from a server", "createImage"),
    _action(P + "os-pause-server:pause", base.PROJECT_MEMBER_OR_ADMIN, "Pause a server",
            "pause"),
    _action(P + "os-pause-server:unpause", base.PROJECT_MEMBER_OR_ADMIN,
            "Unpause a paused server", "unpause"),
    _action(P + "os-suspend-server:suspend", base.PROJECT_MEMBER_OR_ADMIN,
            "Suspend a server", "suspend"),
    _action(P + "os-suspend-server:resume", base.PROJECT_MEMBER_OR_ADMIN,
            "Resume a suspended server", "resume"),
    _action(P + "os-lock-server:lock", base.PROJECT_MEMBER_OR_ADMIN, "Lock a server",
            "lock"),
    _action(P + "os-lock-server:unlock", base.PROJECT_MEMBER_OR_ADMIN,
            "Unlock a locked server", "unlock"),
    _action(P + "os-console-output", base.PROJECT_MEMBER_OR_ADMIN,
            "Show the console output of a server", "os-getConsoleOutput"),
    _action(P + "os-security-groups:add", base.PROJECT_MEMBER_OR_ADMIN,
            "Add a security group to a server", "addSecurityGroup"),
    _action(P + "os-security-groups:remove", base.PROJECT_MEMBER_OR_ADMIN,
            "Remove a security group from a server", "removeSecurityGroup"),
    _action(P + "os-floating-ips:add", base.PROJECT_MEMBER_OR_ADMIN,
            "Associate a floating IP with a server", "addFloatingIp"),
    _action(P + "os-floating-ips:remove", base.PROJECT_MEMBER_OR_ADMIN,
            "Disassociate a floating IP from a server", "removeFloatingIp"),
    _rule(P + "os-security-groups:list", base.PROJECT_READER_OR_ADMIN,
          "List a server's security groups", ("GET", "/servers/{server_id}/os-security-groups")),
    _rule(P + "os-instance-actions:list", base.PROJECT_READER_OR_ADMIN,
          "List a server's actions", ("GET", "/servers/{server_id}/os-instance-actions")),
    _rule(P + "os-instance-actions:show", base.PROJECT_READER_OR_ADMIN,
          "Show a server's action",
          ("GET", "/servers/{server_id}/os-instance-actions/{request_id}")),
    _refine(P + "os-instance-actions:events:details", base.ADMIN,
          "See the tracebacks of a server action's events (in the show's body)",
          ("GET", "/servers/{server_id}/os-instance-actions/{request_id}")),
    _rule(P + "os-attach-interfaces:list", base.PROJECT_READER_OR_ADMIN,
          "List a server's port interfaces", ("GET", "/servers/{server_id}/os-interface")),
    _rule(P + "os-attach-interfaces:show", base.PROJECT_READER_OR_ADMIN,
          "Show a server's port interface",
          ("GET", "/servers/{server_id}/os-interface/{port_id}")),
    # flavors
    _rule(P + "flavors:index", base.PROJECT_READER_OR_ADMIN,
          "List flavors (nova-lite's own rule: Nova checks none)", ("GET", "/flavors")),
    _rule(P + "flavors:detail", base.PROJECT_READER_OR_ADMIN,
          "List flavors with details (nova-lite's own rule: Nova checks none)",
          ("GET", "/flavors/detail")),
    _rule(P + "flavors:show", base.PROJECT_READER_OR_ADMIN,
          "Show a flavor (nova-lite's own rule: Nova checks none)",
          ("GET", "/flavors/{flavor_id}")),
    _rule(P + "os-flavor-manage:create", base.ADMIN, "Create a flavor", ("POST", "/flavors")),
    _rule(P + "os-flavor-manage:delete", base.ADMIN, "Delete a flavor",
          ("DELETE", "/flavors/{flavor_id}")),
    _rule(P + "os-flavor-access", base.ADMIN, "List the projects granted a private flavor",
          ("GET", "/flavors/{flavor_id}/os-flavor-access")),
    _rule(P + "os-flavor-access:add_tenant_access", base.ADMIN,
          "Grant a project a private flavor (action ``addTenantAccess``)",
          ("POST", "/flavors/{flavor_id}/action")),
    _rule(P + "os-flavor-access:remove_tenant_access", base.ADMIN,
          "Take a private flavor from a project (action ``removeTenantAccess``)",
          ("POST", "/flavors/{flavor_id}/action")),
    _rule(P + "os-flavor-extra-specs:index", base.PROJECT_READER_OR_ADMIN,
          "List a flavor's extra specs", ("GET", "/flavors/{flavor_id}/os-extra_specs")),
    _rule(P + "os-flavor-extra-specs:create", base.ADMIN, "Create a flavor's extra specs",
          ("POST", "/flavors/{flavor_id}/os-extra_specs")),
    _rule(P + "os-flavor-extra-specs:update", base.ADMIN, "Update a flavor's extra spec",
          ("PUT", "/flavors/{flavor_id}/os-extra_specs/{flavor_extra_spec_key}")),
    _rule(P + "os-flavor-extra-specs:delete", base.ADMIN, "Delete a flavor's extra spec",
          ("DELETE", "/flavors/{flavor_id}/os-extra_specs/{flavor_extra_spec_key}")),
    # server groups: another project's group is not found (an admin sees any)
    _rule(P + "os-server-groups:create", base.PROJECT_MEMBER, "Create a server group",
          ("POST", "/os-server-groups")),
    _rule(P + "os-server-groups:index", base.PROJECT_READER_OR_ADMIN,
          "List the project's server groups", ("GET", "/os-server-groups")),
    _refine(P + "os-server-groups:index:all_projects", base.ADMIN,
            "List the server groups of every project (``all_projects``)",
            ("GET", "/os-server-groups")),
    _rule(P + "os-server-groups:show", base.PROJECT_READER_OR_ADMIN, "Show a server group",
          ("GET", "/os-server-groups/{server_group_id}")),
    _rule(P + "os-server-groups:delete", base.PROJECT_MEMBER_OR_ADMIN,
          "Delete a server group", ("DELETE", "/os-server-groups/{server_group_id}")),
    # keypairs: the target's user_id is the user whose keypairs are acted on
    # (``?user_id=``, admins only for another user's); a project role is
    # needed too, so an unscoped token gets none.
    _rule(P + "os-keypairs:index", "rule:admin_api or (user_id:%(user_id)s and "
          "rule:project_reader_api)", "List keypairs", ("GET", "/os-keypairs")),
    _rule(P + "os-keypairs:create", "rule:admin_api or (user_id:%(user_id)s and "
          "rule:project_reader_api)", "Create a keypair", ("POST", "/os-keypairs")),
    _rule(P + "os-keypairs:show", "rule:admin_api or (user_id:%(user_id)s and "
          "rule:project_reader_api)", "Show a keypair", ("GET", "/os-keypairs/{keypair_name}")),
    _rule(P + "os-keypairs:delete", "rule:admin_api or (user_id:%(user_id)s and "
          "rule:project_reader_api)", "Delete a keypair",
          ("DELETE", "/os-keypairs/{keypair_name}")),
    # proxies onto the Networking API
    _rule(P + "os-networks:list", base.PROJECT_READER_OR_ADMIN, "List networks",
          ("GET", "/os-networks")),
    _rule(P + "os-networks:view", base.PROJECT_READER_OR_ADMIN, "Show a network",
          ("GET", "/os-networks/{network_id}")),
    _rule(P + "os-floating-ip-pools:list", base.PROJECT_READER_OR_ADMIN,
          "List floating IP pools", ("GET", "/os-floating-ip-pools")),
    _rule(P + "os-floating-ips:list", base.PROJECT_READER_OR_ADMIN, "List floating IPs",
          ("GET", "/os-floating-ips")),
    _rule(P + "os-floating-ips:create", base.PROJECT_MEMBER_OR_ADMIN,
          "Create a floating IP", ("POST", "/os-floating-ips")),
    _rule(P + "os-floating-ips:show", base.PROJECT_READER_OR_ADMIN, "Show a floating IP",
          ("GET", "/os-floating-ips/{floating_ip_id}")),
    _rule(P + "os-floating-ips:delete", base.PROJECT_MEMBER_OR_ADMIN,
          "Delete a floating IP", ("DELETE", "/os-floating-ips/{floating_ip_id}")),
    _rule(P + "os-security-groups:get", base.PROJECT_READER_OR_ADMIN,
          "List security groups", ("GET", "/os-security-groups")),
    _rule(P + "os-security-groups:show", base.PROJECT_READER_OR_ADMIN,
          "Show a security group", ("GET", "/os-security-groups/{security_group_id}")),
    _rule(P + "os-security-groups:create", base.PROJECT_MEMBER_OR_ADMIN,
          "Create a security group", ("POST", "/os-security-groups")),
    _rule(P + "os-security-groups:update", base.PROJECT_MEMBER_OR_ADMIN,
          "Update a security group", ("PUT", "/os-security-groups/{security_group_id}")),
    _rule(P + "os-security-groups:delete", base.PROJECT_MEMBER_OR_ADMIN,
          "Delete a security group", ("DELETE", "/os-security-groups/{security_group_id}")),
    _rule(P + "os-security-groups:rule:create", base.PROJECT_MEMBER_OR_ADMIN,
          "Create a security group rule", ("POST", "/os-security-group-rules")),
    _rule(P + "os-security-groups:rule:delete", base.PROJECT_MEMBER_OR_ADMIN,
          "Delete a security group rule",
          ("DELETE", "/os-security-group-rules/{security_group_id}")),
    # quotas and limits (served by the quota endpoints once they exist)
    _rule(P + "limits", base.PROJECT_READER_OR_ADMIN, "Show rate and absolute limits",
          ("GET", "/limits")),
    _refine(P + "limits:other_project", base.ADMIN,
          "Show another project's limits (``?tenant_id=``)", ("GET", "/limits")),
    _rule(P + "os-quota-sets:show", base.PROJECT_READER_OR_ADMIN, "Show a project's quotas",
          ("GET", "/os-quota-sets/{tenant_id}")),
    _rule(P + "os-quota-sets:update", base.ADMIN, "Update a project's quotas",
          ("PUT", "/os-quota-sets/{tenant_id}")),
    _rule(P + "os-quota-sets:defaults", base.ANY_ROLE, "Show the default quotas",
          ("GET", "/os-quota-sets/{tenant_id}/defaults")),
    _rule(P + "os-quota-sets:detail", base.PROJECT_READER_OR_ADMIN,
          "Show a project's quota usage", ("GET", "/os-quota-sets/{tenant_id}/detail")),
    _rule(P + "os-quota-sets:delete", base.ADMIN, "Revert a project's quotas to defaults",
          ("DELETE", "/os-quota-sets/{tenant_id}")),
    _rule(P + "os-quota-class-sets:show", base.ADMIN, "Show a quota class",
          ("GET", "/os-quota-class-sets/{id}")),
    _rule(P + "os-quota-class-sets:update", base.ADMIN, "Update a quota class",
          ("PUT", "/os-quota-class-sets/{id}")),
]


def list_rules():
    return rules
