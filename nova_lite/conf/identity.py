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
    cfg.IntOpt("lockout_failure_attempts", default=6, min=0,
               help="Consecutive failed password logins after which a user cannot "
                    "log in for lockout_duration seconds (the answer stays the same "
                    "401 as for a wrong password). A successful login resets the "
                    "count; an admin unlocks a user by enabling it or setting its "
                    "password. 0 turns the lockout off (Keystone's default)."),
    cfg.IntOpt("lockout_duration", default=1800, min=1,
               help="Seconds a locked-out user stays locked out."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return [(group.name, opts)]
