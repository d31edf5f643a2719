"""[scheduler]: candidate query, filters, weighers and the claim."""
from oslo_config import cfg

group = cfg.OptGroup("scheduler", help="Scheduler.")
opts = [
    cfg.IntOpt("max_candidates", default=1000, min=1,
               help="Most hosts the candidate query returns for one request "
                    "(Nova's max_placement_results)."),
    cfg.IntOpt("max_claim_attempts", default=10, min=1,
               help="Hosts tried, best first, before a request fails with "
                    "'No valid host'."),
    cfg.ListOpt("enabled_filters",
                default=["compute_up", "enough_vcpus", "enough_ram", "enough_disk"],
                help="Filters every candidate must pass, in order."),
    cfg.ListOpt("enabled_weighers", default=["free_ram"],
                help="Weighers that rank the candidates that pass."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return [(group.name, opts)]
