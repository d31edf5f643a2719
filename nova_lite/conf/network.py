"""[network]: IPAM limits and each compute host's data plane (bridges, dnsmasq,
nftables)."""
from oslo_config import cfg

group = cfg.OptGroup("network", help="Networking: addresses, bridges, DHCP, "
                                     "floating IPs and security groups.")
opts = [
    cfg.IntOpt("max_subnet_addresses", default=1 << 20, min=4,
               help="Largest IPv4 allocation pool a subnet may have (one row per "
                    "address is written when the subnet is created)."),
    cfg.IntOpt("project_largest_subnet_prefixlen_v4", default=22, min=0, max=30,
               help="The largest IPv4 subnet a non-admin may create, as a prefix "
                    "length: 22 allows a /22 (1,022 addresses) and anything smaller "
                    "(/23, /24, ...); a larger one is refused with 400. Subnets never "
                    "overlap anywhere, so a large one blocks its range for every "
                    "project, and its whole pool is written as rows in one request. "
                    "Admins are not bounded (an admin may make a large subnet for a "
                    "project by naming it with project_id)."),
    cfg.IntOpt("project_largest_subnet_prefixlen_v6", default=64, min=0, max=128,
               help="The largest IPv6 subnet a non-admin may create, as a prefix "
                    "length (64: a /64 and nothing larger); admins are not bounded."),
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
    # -- sharing networks between hosts (doc/networking.md, "Across hosts") --
    cfg.StrOpt("overlay", default="none", choices=["none", "vxlan"],
               help="none: each host's networks are local to it (its bridges have "
                    "no uplink). vxlan: each network's bridge also carries a VXLAN "
                    "device (VNI = the network's segmentation id, multicast group "
                    "from vxlan_group_range), so guests of a network on different "
                    "hosts share one layer 2; every host is the gateway of its own "
                    "guests (same gateway addresses and MAC everywhere) and its "
                    "dnsmasq answers only them."),
    cfg.StrOpt("overlay_local_ip", default="",
               help="This host's underlay address, the source of its VXLAN packets "
                    "(empty: the first address of overlay_interface of the group's "
                    "family)."),
    cfg.StrOpt("overlay_interface", default="",
               help="Underlay device (e.g. eth0) VXLAN joins the multicast groups "
                    "on and sends through; required with overlay = vxlan. Guests "
                    "get MTU min(network mtu, this device's MTU - 50) (- 70 over "
                    "IPv6)."),
    cfg.StrOpt("vxlan_group_range", default="239.1.0.0/16",
               help="Multicast groups of the VXLAN segments: a network's group is "
                    "the range's first address + (VNI mod the range's size), so "
                    "networks whose VNIs differ by a multiple of the size share a "
                    "group (each host then also receives the other's floods)."),
    cfg.PortOpt("vxlan_port", default=4789, help="UDP port of VXLAN (IANA: 4789)."),
    cfg.StrOpt("external_interface", default="",
               help="Provider uplink (e.g. eth1) of the external (floating IP) "
                    "network: its bridge enslaves this interface, the upstream "
                    "router owns the external subnet's gateway address, and this "
                    "host answers ARP only for the floating IPs of its own guests "
                    "(a /32 each). Empty: the host itself carries the external "
                    "gateway address and the external network is local to it."),
    cfg.IntOpt("external_route_table", default=4789, min=1, max=2**31 - 1,
               help="Routing table (and ip rule priority base) for the replies of "
                    "guests with a floating IP when external_interface is set: "
                    "'from <fixed address> lookup <table>' sends them to the "
                    "external gateway, while the host's own default route stays."),
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
