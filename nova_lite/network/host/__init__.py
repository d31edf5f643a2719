"""The data plane on a compute host: what makes a guest's NICs work.

    compute manager ──> plug.plug / plug.refresh / plug.unplug  (network_info)
                          │ state.py: one JSON file per instance
                          v
                        _apply: the whole host from all recorded instances
                          ├─ sysctl.py    ip forwarding, br_netfilter
                          ├─ bridge.py    a Linux bridge per network, gateways on it
                          ├─ nftables.py  one atomic nft transaction:
                          │     firewall.py  security groups (inet), anti-spoofing (bridge)
                          │     nat.py       floating IPs (DNAT/SNAT)
                          └─ dhcp.py      a dnsmasq per network bridge

``model.py`` checks network_info (nova_lite/network/info.py) once; the rule
generators (firewall, nat, the argv and hosts lines of dhcp) are pure.
Imports: the standard library and ``nova_lite.conf`` only — compute hosts
have no database. See doc/networking.md, "Data plane on a compute host".
"""
