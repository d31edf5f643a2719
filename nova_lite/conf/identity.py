"""[identity]: the minimum of Keystone v3 nova-lite serves itself."""
from oslo_config import cfg

group = cfg.OptGroup("identity", help="Identity (Keystone v3 subset).")
opts = [
    cfg.StrOpt("fernet_key_file", default="/etc/nova-lite/fernet.key",
               help="File holding the Fernet key tokens are sealed with. Every API "
                    "node must share it. Created by `nova-lite-manage token-key create`."),
    cfg.IntOpt("token_expiration", default=3600, min=60,
               help="Token lifetime in seconds."),
    cfg.StrOpt("region_name", default="RegionOne", help="Region in the catalog."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return [(group.name, opts)]
