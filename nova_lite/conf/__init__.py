"""Configuration: every option nova-lite reads, registered on one oslo.config object.

Each module in this package owns one option group. ``CONF`` is the process-wide
ConfigOpts; services call :func:`parse_args` once at start.

    from nova_lite.conf import CONF
    CONF.database.connection
"""
from oslo_config import cfg

from nova_lite.conf import (
    api,
    compute,
    conductor,
    database,
    identity,
    image,
    libvirt,
    network,
    policy,
    quota,
    rpc,
    scheduler,
    service,
    sim,
)
from nova_lite.version import __version__

CONF = cfg.CONF

MODULES = (service, database, rpc, api, identity, image, scheduler, compute, conductor,
           libvirt, network, policy, quota, sim)
for _module in MODULES:
    _module.register_opts(CONF)

DEFAULT_CONFIG_FILES = ["/etc/nova-lite/nova-lite.conf"]


def parse_args(argv, default_config_files=None):
    """Parse command line and config files into CONF (``--config-file`` wins)."""
    import os

    if default_config_files is None:
        default_config_files = [p for p in DEFAULT_CONFIG_FILES if os.path.exists(p)]
    CONF(argv, project="nova-lite", version=__version__,
         default_config_files=default_config_files)
