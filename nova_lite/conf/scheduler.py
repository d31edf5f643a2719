"""[scheduler]: candidate query, filters, weighers and the claim."""
from oslo_config import cfg

group = cfg.OptGroup("scheduler", help="Scheduler.")
opts = [
    cfg.IntOpt("max_candidates", default=1000, min=1,
               help="Most hosts the candidate query returns for one request "
                    "(Nova's max_placement_results)."),
    cfg.StrOpt("candidate_order", default="sample", choices=[
        ("sample", "the first max_candidates nodes with room from a random node id "
                   "on (cost independent of the number of hosts)"),
        ("free_ram", "the max_candidates nodes with the most free RAM of all (exact, "
                     "costs a sort of every up node per query)")],
        help="How the candidate query picks its nodes; the weighers then rank "
             "them."),
    cfg.IntOpt("max_claim_attempts", default=10, min=1,
               help="Hosts tried, best first, before a request fails with "
                    "'No valid host'."),
    cfg.ListOpt("enabled_filters",
                default=["compute_up", "enough_vcpus", "enough_ram", "enough_disk",
                         "forced_host", "server_group_affinity",
                         "server_group_anti_affinity", "same_host", "different_host",
                         "simple_cidr"],
                help="Filters every candidate must pass, in order (each counts the "
                     "hosts it drops, per reason, for the 'No valid host' fault). "
                     "Without server_group_affinity/server_group_anti_affinity the "
                     "claim still refuses a host that breaks a server group's hard "
                     "policy."),
    cfg.ListOpt("enabled_weighers", default=["free_ram", "server_group_soft_affinity",
                                             "server_group_soft_anti_affinity"],
                help="Weighers that rank the candidates that pass (the server group "
                     "ones weigh only a member of a soft-affinity or "
                     "soft-anti-affinity group)."),
    cfg.IntOpt("batch_size", default=64, min=1,
               help="Most requests one scheduler places in one batch (one candidate "
                    "query per flavor shape and one claim transaction for the "
                    "batch); also the requests a scheduler holds at once."),
    cfg.FloatOpt("batch_wait", default=0.01, min=0.0,
                 help="Seconds a batch waits for more requests after its first."),
    cfg.IntOpt("host_subset_size", default=4, min=1,
               help="Each instance goes to a random one of this many best hosts, "
                    "so schedulers working side by side rarely pick the same host "
                    "(Nova's host_subset_size)."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return [(group.name, opts)]
