"""[quota]: default quotas (Compute's and Networking's) and whether they are
enforced. A project's limit of a resource is, first found: the limit set for
the user (``os-quota-sets/{project}?user_id=``, Compute's per-user resources
only), the limit set for the project, the default class's
(``os-quota-class-sets/default``), then the option here. -1 is unlimited.

Every nova-lite process hands these to PostgreSQL when it connects (session
settings ``nova_lite.quota_*``, see nova_lite.db.quotas), where the triggers
that count usage check it: all API workers must share the same values."""
from oslo_config import cfg

group = cfg.OptGroup("quota", help="Quotas: defaults and enforcement "
                                   "(doc/api.md, \"Quotas and limits\").")

# Compute (os-quota-sets), in Nova's order and with Nova's defaults.
COMPUTE_DEFAULTS = (
    ("instances", 10, "Servers per project."),
    ("cores", 20, "Instance cores (VCPUs) per project."),
    ("ram", 51200, "Megabytes of instance RAM per project."),
    ("metadata_items", 128, "Metadata items per server."),
    ("key_pairs", 100, "Key pairs per user."),
    ("server_groups", 10, "Server groups per project."),
    ("server_group_members", 10, "Servers per server group."),
    ("injected_files", 5, "Injected files per server (shown, not enforced: "
                          "file injection is not implemented)."),
    ("injected_file_content_bytes", 10240, "Bytes per injected file (shown, not "
                                           "enforced)."),
    ("injected_file_path_bytes", 255, "Bytes per injected file path (shown, not "
                                      "enforced)."),
    ("floating_ips", -1, "Compute's legacy floating IP quota (shown at microversion "
                         "2.1, not enforced: the Networking quota floatingip is)."),
    ("fixed_ips", -1, "Compute's legacy fixed IP quota (shown, not enforced)."),
    ("security_groups", -1, "Compute's legacy security group quota (shown, not "
                            "enforced: the Networking quota security_group is)."),
    ("security_group_rules", -1, "Compute's legacy security group rule quota (shown, "
                                 "not enforced: the Networking quota "
                                 "security_group_rule is)."),
)

# Networking (/v2.0/quotas), with Neutron's names and defaults.
NETWORK_DEFAULTS = (
    ("network", 100, "Networks per project."),
    ("subnet", 100, "Subnets per project."),
    ("port", 500, "Ports per project."),
    ("floatingip", 50, "Floating IPs per project."),
    ("security_group", 10, "Security groups per project (its default group "
                           "included)."),
    ("security_group_rule", 100, "Security group rules per project."),
)

opts = [
    cfg.StrOpt("driver", default="db", choices=["db", "noop"],
               help="db: limits are enforced (usage is counted by the database as "
                    "rows are made and removed). noop: nothing is enforced and every "
                    "limit shows as -1 (Nova's NoopQuotaDriver); usage is still "
                    "counted, so switching back is exact."),
] + [cfg.IntOpt(name, default=default, min=-1, help=text + " -1: unlimited.")
     for name, default, text in COMPUTE_DEFAULTS + NETWORK_DEFAULTS]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return [(group.name, opts)]
