"""Networking: networks and subnets, the address pool, ports, floating IPs and
security groups (the tables behind nova_lite.network and the Networking v2 API).

Addresses are rows, not arithmetic: creating an IPv4 subnet writes one
``ip_allocations`` row per usable address, and allocating one is a single
``UPDATE ... WHERE port_id IS NULL ... FOR UPDATE SKIP LOCKED`` (see
nova_lite.network.ipam), so no address is ever handed out twice, however many
API workers allocate at once. IPv6 SLAAC addresses are derived from the MAC
(EUI-64) and inserted on demand; the primary key keeps them unique too."""
import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import CIDR, INET, JSONB, ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nova_lite.db.models.base import Base, Timestamps, new_uuid, utcnow


class Network(Timestamps, Base):
    """A layer-2 network: one Linux bridge named ``bridge`` on every compute
    host that has a port on it. ``external`` networks are floating IP pools."""
    __tablename__ = "networks"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255), default="", index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    project_id: Mapped[str | None] = mapped_column(String(36), index=True)
    shared: Mapped[bool] = mapped_column(default=False)
    external: Mapped[bool] = mapped_column(default=False)
    is_default: Mapped[bool] = mapped_column(default=False)
    bridge: Mapped[str] = mapped_column(String(15), unique=True)
    mtu: Mapped[int] = mapped_column(default=1500)
    # The VNI of its VXLAN segment ([network] overlay = vxlan), 1 .. 2^24-1,
    # drawn from a sequence by the database whoever inserts the row (0006).
    segmentation_id: Mapped[int] = mapped_column(
        Integer, unique=True,
        server_default=text("nextval('networks_segmentation_id_seq')"))
    admin_state_up: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")


class Subnet(Timestamps, Base):
    """An address range of a network. No two subnets overlap anywhere: every
    network is routed by the same hosts (nova-network's flat model)."""
    __tablename__ = "subnets"
    __table_args__ = (
        ExcludeConstraint(("cidr", "&&"), using="gist", ops={"cidr": "inet_ops"},
                          name="subnets_no_overlap"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    network_id: Mapped[str] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str | None] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    ip_version: Mapped[int] = mapped_column(Integer)
    cidr: Mapped[str] = mapped_column(CIDR)
    gateway_ip: Mapped[str | None] = mapped_column(INET)
    enable_dhcp: Mapped[bool] = mapped_column(default=True)
    allocation_pools: Mapped[list] = mapped_column(JSONB, default=list)
    dns_nameservers: Mapped[list] = mapped_column(JSONB, default=list)
    host_routes: Mapped[list] = mapped_column(JSONB, default=list)
    ipv6_ra_mode: Mapped[str | None] = mapped_column(String(32))
    ipv6_address_mode: Mapped[str | None] = mapped_column(String(32))


class IpAllocation(Base):
    """One address of a subnet; ``port_id`` NULL means free. IPv4 rows are
    written for the whole pool when the subnet is made (``pooled``); IPv6 SLAAC
    rows exist only while a port holds them."""
    __tablename__ = "ip_allocations"
    __table_args__ = (
        Index("ix_ip_allocations_free", "subnet_id", "address",
              postgresql_where=text("port_id IS NULL")),
        # GET /servers?ip=/ip6= (a regular expression on the held addresses).
        Index("ix_ip_allocations_held_trgm", text("host(address) gin_trgm_ops"),
              postgresql_using="gin", postgresql_where=text("port_id IS NOT NULL")),
    )
    subnet_id: Mapped[str] = mapped_column(
        ForeignKey("subnets.id", ondelete="CASCADE"), primary_key=True)
    address: Mapped[str] = mapped_column(INET, primary_key=True)
    port_id: Mapped[str | None] = mapped_column(
        ForeignKey("ports.id", ondelete="SET NULL"), index=True)
    pooled: Mapped[bool] = mapped_column(default=True)
    allocated_at: Mapped[datetime.datetime | None]


class Port(Timestamps, Base):
    """A NIC on a network: a guest's (device_owner ``compute:<az>``), a floating
    IP's (``network:floatingip``) or the hosts' gateway (``network:dhcp``)."""
    __tablename__ = "ports"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    network_id: Mapped[str] = mapped_column(
        ForeignKey("networks.id", ondelete="RESTRICT"), index=True)
    project_id: Mapped[str | None] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    mac_address: Mapped[str] = mapped_column(String(17), unique=True)
    device_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    device_owner: Mapped[str] = mapped_column(String(255), default="")
    admin_state_up: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    binding_host_id: Mapped[str | None] = mapped_column(String(255), index=True)
    port_security_enabled: Mapped[bool] = mapped_column(default=True)
    # A port the user made and handed to a server is unbound, not deleted,
    # when the server goes (Nova's preserve_on_delete).
    preserve_on_delete: Mapped[bool] = mapped_column(default=False)


class FloatingIP(Timestamps, Base):
    """An address of an external network, held by its own port there, and
    NATed to ``fixed_ip_address`` of ``port_id`` on the guest's host."""
    __tablename__ = "floating_ips"
    __table_args__ = (
        Index("ux_floating_ips_fixed", "port_id", "fixed_ip_address", unique=True,
              postgresql_where=text("port_id IS NOT NULL")),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    project_id: Mapped[str | None] = mapped_column(String(36), index=True)
    floating_network_id: Mapped[str] = mapped_column(
        ForeignKey("networks.id", ondelete="RESTRICT"), index=True)
    floating_port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), unique=True)
    floating_ip_address: Mapped[str] = mapped_column(INET, unique=True)
    port_id: Mapped[str | None] = mapped_column(
        ForeignKey("ports.id", ondelete="SET NULL"), index=True)
    fixed_ip_address: Mapped[str | None] = mapped_column(INET)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    description: Mapped[str] = mapped_column(Text, default="")


class SecurityGroup(Timestamps, Base):
    __tablename__ = "security_groups"
    __table_args__ = (
        # One 'default' group per project, even if two requests create it at once.
        Index("ux_security_groups_default", "project_id", unique=True,
              postgresql_where=text("name = 'default'")),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    project_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    stateful: Mapped[bool] = mapped_column(Boolean, default=True)


class SecurityGroupRule(Base):
    __tablename__ = "security_group_rules"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str | None] = mapped_column(String(36))
    direction: Mapped[str] = mapped_column(String(7))          # ingress | egress
    ethertype: Mapped[str] = mapped_column(String(4))          # IPv4 | IPv6
    protocol: Mapped[str | None] = mapped_column(String(16))   # tcp|udp|icmp|ipv6-icmp|None
    port_range_min: Mapped[int | None]
    port_range_max: Mapped[int | None]
    remote_ip_prefix: Mapped[str | None] = mapped_column(CIDR)
    remote_group_id: Mapped[str | None] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime.datetime | None]


class PortSecurityGroup(Base):
    """A port's membership of a group (a group in use cannot be deleted)."""
    __tablename__ = "port_security_groups"
    port_id: Mapped[str] = mapped_column(ForeignKey("ports.id", ondelete="CASCADE"),
                                         primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("security_groups.id", ondelete="RESTRICT"), primary_key=True,
        index=True)


# -- remote-group membership, told to hosts incrementally (nova_lite.network.membership) --
class SecurityGroupHost(Base):
    """A host that must hear when the members of ``security_group_id``
    change: it has a bound port in a group whose rules name it as remote
    group. Written by a database trigger (migration 0004) when such a port is
    bound there, and when the host asks for the group's members; deleted when
    the host says it no longer needs them (nova_lite.network.membership).
    Insert-only while in use: no counter that every build on a host would
    update."""
    __tablename__ = "security_group_hosts"
    security_group_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    host: Mapped[str] = mapped_column(String(255), primary_key=True)


class SecurityGroupMemberChange(Base):
    """An address that joined (``member``) or left a group some rule names as
    remote group; written by triggers on ports, port_security_groups and
    ip_allocations (a port counts once it is bound to a host), read and
    deleted by the conductor's fan-out pass."""
    __tablename__ = "security_group_member_changes"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    security_group_id: Mapped[str] = mapped_column(String(36))
    address: Mapped[str] = mapped_column(INET)
    member: Mapped[bool] = mapped_column(Boolean)


class SecurityGroupMemberSync(Base):
    """A host asked for the whole membership of a group (a set it lacks: a
    new rule, a first guest, a restart); answered by the next fan-out pass."""
    __tablename__ = "security_group_member_syncs"
    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(String(36), primary_key=True)


class SecurityGroupFanout(Base):
    """One row: the number of the last fan-out pass. Locking it (SKIP
    LOCKED) makes one conductor at a time run a pass, so pass numbers order
    what hosts are told."""
    __tablename__ = "security_group_fanout"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    pass_number: Mapped[int] = mapped_column(BigInteger, default=0)
