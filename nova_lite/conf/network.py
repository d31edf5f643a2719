"""[network]: IPAM limits and each compute host's data plane (bridges, dnsmasq,
nftables)."""
from oslo_config import cfg

group = cfg.OptGroup("network", help="Networking: addresses, bridges, DHCP, "
                                     "floating IPs and security groups.")
opts = [
    cfg.IntOpt("max_subnet_addresses", default=1 << 20, min=4,
               help="Largest IPv4 allocation pool a subnet may have (one row per "
                    "address is written when the subnet is created)."),
    cfg.StrOpt("base_mac", default="fa:16:3e:00:00:00",
               help="MAC prefix of ports; the last three octets are random."),
    cfg.BoolOpt("enabled", default=True,
                help="Plug guests into their networks on this compute host "
                     "(bridges, dnsmasq, nftables). Off for drivers without NICs."),
    cfg.StrOpt("dnsmasq_binary", default="dnsmasq",
               help="dnsmasq executable serving DHCP and router advertisements."),
    cfg.StrOpt("dnsmasq_user", default="root",
               help="User each dnsmasq runs as. It re-reads its hosts file under "
                    "<state_path>/network/ whenever guests come and go, so that user "
                    "must be able to read it (every directory above included)."),
    cfg.StrOpt("nft_binary", default="nft", help="nftables command."),
    cfg.StrOpt("nft_table", default="nova_lite",
               help="nftables tables (family inet: security groups and floating "
                    "IP NAT; family bridge: anti-spoofing) of this compute "
                    "service. Each compute service on a machine needs its own; "
                    "nothing else is ever touched."),
    cfg.StrOpt("dhcp_domain", default="novalocal",
               help="Domain dnsmasq gives guests."),
    cfg.IntOpt("dhcp_lease_time", default=86400, min=120,
               help="Seconds a DHCP lease lasts."),
    cfg.FloatOpt("membership_interval", default=1.0, min=0.05,
                 help="Seconds between the conductor's passes that tell compute hosts "
                      "which addresses joined or left the security groups their "
                      "guests' rules name (one message per host and pass, whatever "
                      "the number of changes)."),
    cfg.IntOpt("membership_batch", default=10000, min=1,
               help="Most membership changes (and whole-set requests) one pass "
                    "reads; more wait for the next pass."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return [(group.name, opts)]
