"""network_info (see nova_lite/network/info.py) checked and turned into small
immutable records. Every name and address that later goes into an ``ip``
command, a dnsmasq argument or nftables text is validated here, once, so the
generators never have to quote or escape anything."""
import dataclasses
import ipaddress
import re

# Interface names: what the kernel allows (<= 15 bytes) minus anything that
# would need quoting in nft or could be read as an option by ip/dnsmasq.
_IFNAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
IPV6_MODES = (None, "slaac", "dhcpv6-stateless", "dhcpv6-stateful")


class InvalidNetworkInfo(ValueError):
    pass


@dataclasses.dataclass(frozen=True)
class Subnet:
    id: str
    cidr: ipaddress.IPv4Network | ipaddress.IPv6Network
    gateway: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    enable_dhcp: bool
    dns_nameservers: tuple
    ipv6_address_mode: str | None

    @property
    def version(self):
        return self.cidr.version

    @property
    def gateway_interface(self):
        """The gateway as an address with the subnet's prefix, for the bridge."""
        if self.gateway is None:
            return None
        return ipaddress.ip_interface(f"{self.gateway}/{self.cidr.prefixlen}")


@dataclasses.dataclass(frozen=True)
class FixedIp:
    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    subnet_id: str | None

    @property
    def version(self):
        return self.address.version


@dataclasses.dataclass(frozen=True)
class FloatingIp:
    address: ipaddress.IPv4Address
    fixed_address: ipaddress.IPv4Address
    bridge: str
    cidr: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address | None

    @property
    def gateway_interface(self):
        if self.gateway is None:
            return None
        return ipaddress.ip_interface(f"{self.gateway}/{self.cidr.prefixlen}")


@dataclasses.dataclass(frozen=True)
class Rule:
    direction: str                 # "ingress" | "egress"
    ethertype: str                 # "IPv4" | "IPv6"
    protocol: str | None           # lower-case name or number as a string; None = any
    port_range_min: int | None
    port_range_max: int | None
    remote_ip_prefixes: tuple      # of ip_network
    remote_group_id: str | None = None   # members: a set on the host (groups.py)

    @property
    def version(self):
        return 6 if self.ethertype == "IPv6" else 4


@dataclasses.dataclass(frozen=True)
class Vif:
    port_id: str
    mac: str
    network_id: str
    bridge: str
    mtu: int | None
    tap: str
    port_security: bool
    subnets: tuple
    fixed_ips: tuple
    floating_ips: tuple
    rules: tuple
    segmentation_id: int | None = None    # VXLAN VNI, 1 .. 2^24-1 (overlay.py)
    external: bool = False                # a floating IP pool's network

    def addresses(self, version=None):
        return [ip.address for ip in self.fixed_ips
                if version is None or ip.version == version]

    def subnet(self, subnet_id):
        for subnet in self.subnets:
            if subnet.id == subnet_id:
                return subnet
        return None

    def subnet_of(self, address):
        """The subnet ``address`` belongs to (by id, else by cidr), or None."""
        for fixed in self.fixed_ips:
            if fixed.address == address and fixed.subnet_id:
                subnet = self.subnet(fixed.subnet_id)
                if subnet is not None:
                    return subnet
        for subnet in self.subnets:
            if address in subnet.cidr:
                return subnet
        return None


def parse(network_info):
    """A tuple of Vif from a network_info list (None or [] -> ())."""
    if not network_info:
        return ()
    if not isinstance(network_info, (list, tuple)):
        raise InvalidNetworkInfo("network_info must be a list of vifs")
    vifs = tuple(_vif(entry) for entry in network_info)
    taps = [vif.tap for vif in vifs]
    if len(set(taps)) != len(taps):
        raise InvalidNetworkInfo(f"two vifs share a tap name: {taps}")
    return vifs


def _vif(entry):
    if not isinstance(entry, dict):
        raise InvalidNetworkInfo(f"a vif must be a dict, not {type(entry).__name__}")
    port_id = _ident(entry.get("port_id"), "port_id")
    where = f"vif {port_id}"
    subnets = tuple(_subnet(s, where) for s in entry.get("subnets") or ())
    fixed = tuple(_fixed_ip(f, where) for f in entry.get("fixed_ips") or ())
    mtu = entry.get("mtu")
    if mtu is not None:
        mtu = _int(mtu, f"{where}: mtu", 68, 65535)
    return Vif(
        port_id=port_id,
        mac=_mac(entry.get("mac"), where),
        network_id=_ident(entry.get("network_id"), f"{where}: network_id"),
        bridge=ifname(entry.get("bridge"), f"{where}: bridge"),
        mtu=mtu,
        tap=ifname(entry.get("tap"), f"{where}: tap"),
        port_security=bool(entry.get("port_security", True)),
        subnets=subnets,
        fixed_ips=fixed,
        floating_ips=tuple(_floating(f, where) for f in entry.get("floating_ips") or ()
                           if f.get("fixed_address") not in (None, "", "None")),
        rules=tuple(_rule(r, where) for r in entry.get("security_group_rules") or ()),
        segmentation_id=_segmentation_id(entry.get("segmentation_id"), where),
        external=entry.get("external") is True,
    )


MAX_VNI = (1 << 24) - 1


def _segmentation_id(value, where):
    """A VXLAN VNI (24 bits, 0 is not used) or None (from a control plane
    older than migration 0006: such a network cannot join an overlay)."""
    if value is None:
        return None
    return _int(value, f"{where}: segmentation_id", 1, MAX_VNI)


def ifname(value, what="interface name"):
    if not isinstance(value, str) or not _IFNAME.match(value):
        raise InvalidNetworkInfo(f"{what}: {value!r} is not a usable interface name "
                                 "(1-15 of A-Z a-z 0-9 _ . -)")
    return value


def _ident(value, what):
    if not isinstance(value, str) or not _ID.match(value):
        raise InvalidNetworkInfo(f"{what}: {value!r} is not a valid id")
    return value


def _mac(value, where):
    mac = value.lower() if isinstance(value, str) else value
    if not isinstance(mac, str) or not _MAC.match(mac):
        raise InvalidNetworkInfo(f"{where}: {value!r} is not a MAC address")
    if int(mac[:2], 16) & 1:
        raise InvalidNetworkInfo(f"{where}: {value} is a multicast MAC address")
    return mac


def _address(value, what, version=None):
    try:
        address = ipaddress.ip_address(str(value).split("/")[0])
    except ValueError:
        raise InvalidNetworkInfo(f"{what}: {value!r} is not an IP address") from None
    if version and address.version != version:
        raise InvalidNetworkInfo(f"{what}: {value} is not an IPv{version} address")
    return address


def _network(value, what, version=None):
    try:
        network = ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        raise InvalidNetworkInfo(f"{what}: {value!r} is not a CIDR") from None
    if version and network.version != version:
        raise InvalidNetworkInfo(f"{what}: {value} is not an IPv{version} prefix")
    return network


def _int(value, what, low, high):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidNetworkInfo(f"{what}: {value!r} is not a number") from None
    if isinstance(value, bool) or not low <= number <= high:
        raise InvalidNetworkInfo(f"{what}: {value!r} is not within {low}..{high}")
    return number


def _subnet(entry, where):
    cidr = _network(entry.get("cidr"), f"{where}: subnet cidr")
    version = entry.get("ip_version") or cidr.version
    if int(version) != cidr.version:
        raise InvalidNetworkInfo(f"{where}: subnet {cidr} is not IPv{version}")
    gateway = entry.get("gateway")
    gateway = _address(gateway, f"{where}: gateway", cidr.version) if gateway else None
    mode = entry.get("ipv6_address_mode")
    if mode not in IPV6_MODES:
        raise InvalidNetworkInfo(f"{where}: unknown ipv6_address_mode {mode!r}")
    return Subnet(
        id=_ident(str(entry.get("id") or cidr).replace("/", "_"), f"{where}: subnet id"),
        cidr=cidr, gateway=gateway, enable_dhcp=bool(entry.get("enable_dhcp", True)),
        dns_nameservers=tuple(_address(a, f"{where}: dns_nameservers")
                              for a in entry.get("dns_nameservers") or ()),
        ipv6_address_mode=mode if cidr.version == 6 else None)


def _fixed_ip(entry, where):
    address = _address(entry.get("address"), f"{where}: fixed ip")
    subnet_id = entry.get("subnet_id")
    return FixedIp(address=address, subnet_id=str(subnet_id) if subnet_id else None)


def _floating(entry, where):
    what = f"{where}: floating ip"
    cidr = _network(entry.get("cidr"), what, 4)
    gateway = entry.get("gateway")
    return FloatingIp(
        address=_address(entry.get("address"), what, 4),
        fixed_address=_address(entry.get("fixed_address"), f"{what} fixed_address", 4),
        bridge=ifname(entry.get("bridge"), f"{what} bridge"),
        cidr=cidr, gateway=_address(gateway, f"{what} gateway", 4) if gateway else None)


def _rule(entry, where):
    what = f"{where}: security group rule"
    direction = entry.get("direction")
    if direction not in ("ingress", "egress"):
        raise InvalidNetworkInfo(f"{what}: direction {direction!r}")
    ethertype = entry.get("ethertype") or "IPv4"
    if ethertype not in ("IPv4", "IPv6"):
        raise InvalidNetworkInfo(f"{what}: ethertype {ethertype!r}")
    version = 6 if ethertype == "IPv6" else 4
    protocol = entry.get("protocol")
    protocol = None if protocol in (None, "", "any") else str(protocol).lower()
    low, high = entry.get("port_range_min"), entry.get("port_range_max")
    low = None if low is None else _int(low, f"{what}: port_range_min", 0, 65535)
    high = None if high is None else _int(high, f"{what}: port_range_max", 0, 65535)
    remote_group = entry.get("remote_group_id")
    if remote_group is not None:
        return Rule(direction=direction, ethertype=ethertype, protocol=protocol,
                    port_range_min=low, port_range_max=high, remote_ip_prefixes=(),
                    remote_group_id=_ident(remote_group, f"{what}: remote_group_id"))
    prefixes = entry.get("remote_ip_prefixes")
    if prefixes is None:
        prefixes = ["::/0" if version == 6 else "0.0.0.0/0"]
    # A prefix of the other family can never match this rule's traffic.
    nets = {_network(p, f"{what}: remote prefix") for p in prefixes}
    return Rule(direction=direction, ethertype=ethertype, protocol=protocol,
                port_range_min=low, port_range_max=high,
                remote_ip_prefixes=tuple(sorted((n for n in nets if n.version == version),
                                                key=lambda n: (n.network_address,
                                                               n.prefixlen))))
