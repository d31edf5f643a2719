"""Entry point for ``oslo-config-generator`` (see etc/oslo-config-generator/)."""
from nova_lite.conf import (
    api,
    compute,
    conductor,
    database,
    identity,
    image,
    libvirt,
    rpc,
    scheduler,
    service,
)


def list_opts():
    groups = {}
    for module in (service, database, rpc, api, identity, image, scheduler, compute, conductor,
                libvirt):
        for group, opts in module.list_opts():
            groups.setdefault(group, []).extend(opts)
    return sorted(groups.items(), key=lambda kv: (kv[0] != "DEFAULT", kv[0]))
