"""Entry point for ``oslo-config-generator`` (see etc/oslo-config-generator/)."""
from nova_lite.conf import MODULES


def list_opts():
    groups = {}
    for module in MODULES:
        for group, opts in module.list_opts():
            groups.setdefault(group, []).extend(opts)
    return sorted(groups.items(), key=lambda kv: (kv[0] != "DEFAULT", kv[0]))
