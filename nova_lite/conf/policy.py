"""[oslo_policy]: where the operator's policy overrides live (oslo.policy's
own options, registered here so they appear in the sample config).

nova-lite's rules and their defaults are in code (nova_lite.api.policies);
``policy_file`` only overrides some of them. A missing file means the
defaults alone. A changed file is read again on the next request, no restart
needed."""
from oslo_policy import opts as policy_opts

DEFAULT_POLICY_FILE = "/etc/nova-lite/policy.yaml"


def register_opts(conf):
    # enforce_scope stays off: every rule here is project-scoped (the
    # personas in nova_lite.api.policies.base); system scope is not served.
    policy_opts.set_defaults(conf, policy_file=DEFAULT_POLICY_FILE,
                             enforce_new_defaults=True)


def list_opts():
    return policy_opts.list_opts()
