"""Compute: flavors, keypairs, images, services, nodes, allocations, instances."""
import datetime

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from nova_lite.db.models.base import Base, Timestamps, new_uuid, utcnow


class Flavor(Timestamps, Base):
    __tablename__ = "flavors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flavorid: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    vcpus: Mapped[int]
    memory_mb: Mapped[int]
    root_gb: Mapped[int]
    ephemeral_gb: Mapped[int] = mapped_column(default=0)
    swap: Mapped[int] = mapped_column(default=0)
    rxtx_factor: Mapped[float] = mapped_column(Float, default=1.0)
    is_public: Mapped[bool] = mapped_column(default=True)
    disabled: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str | None] = mapped_column(Text)
    extra_specs: Mapped[dict] = mapped_column(default=dict)


class FlavorProject(Base):
    """A project granted a private flavor (os-flavor-access): it sees and
    boots the flavor as if it were public (nova_lite/db/flavors.py)."""
    __tablename__ = "flavor_projects"
    __table_args__ = (UniqueConstraint("flavor_id", "project_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flavor_id: Mapped[int] = mapped_column(ForeignKey("flavors.id", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)


class KeyPair(Timestamps, Base):
    __tablename__ = "key_pairs"
    __table_args__ = (UniqueConstraint("user_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(36), index=True)
    fingerprint: Mapped[str] = mapped_column(String(255))
    public_key: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(16), default="ssh")


class Image(Timestamps, Base):
    __tablename__ = "images"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    name: Mapped[str | None] = mapped_column(String(255), index=True)
    owner: Mapped[str | None] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(30), default="queued")
    visibility: Mapped[str] = mapped_column(String(30), default="shared")
    protected: Mapped[bool] = mapped_column(default=False)
    disk_format: Mapped[str | None] = mapped_column(String(30))
    container_format: Mapped[str | None] = mapped_column(String(30))
    size: Mapped[int | None] = mapped_column(BigInteger)
    virtual_size: Mapped[int | None] = mapped_column(BigInteger)
    checksum: Mapped[str | None] = mapped_column(String(32))
    os_hash_algo: Mapped[str | None] = mapped_column(String(64))
    os_hash_value: Mapped[str | None] = mapped_column(String(128))
    min_disk: Mapped[int] = mapped_column(default=0)
    min_ram: Mapped[int] = mapped_column(default=0)
    tags: Mapped[list] = mapped_column(JSONB, default=list)
    properties: Mapped[dict] = mapped_column(default=dict)
    deleted: Mapped[bool] = mapped_column(default=False)


class ImageChunk(Base):
    """A piece of an image's data when ``[image] store = database``: chunk
    ``seq`` (0, 1, ...) of the image, 1 MiB each but the last (an empty image
    is one empty chunk). Written only while the image is ``saving``; see
    nova_lite/api/image/store/database.py."""
    __tablename__ = "image_chunks"
    image_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Service(Base):
    """A running nova-lite service; its heartbeat says whether it is up."""
    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("host", "binary"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Its id in the API from microversion 2.53 (the integer id before).
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid,
                                      server_default=text("gen_random_uuid()::text"))
    host: Mapped[str] = mapped_column(String(255))
    binary: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str | None] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(255))
    forced_down: Mapped[bool] = mapped_column(default=False)
    report_count: Mapped[int] = mapped_column(default=0)
    last_seen_up: Mapped[datetime.datetime | None]
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime.datetime | None]


class ComputeNode(Base):
    """A hypervisor's resources. The ``*_used`` columns move only by the
    scheduler's atomic claim and the conductor's release, each a single
    conditional UPDATE together with the matching Allocation row."""
    __tablename__ = "compute_nodes"
    __table_args__ = (
        # os-hypervisors' hostname pattern (a substring, as Nova's LIKE).
        Index("ix_compute_nodes_hostname_trgm", "hypervisor_hostname", postgresql_using="gin",
              postgresql_ops={"hypervisor_hostname": "gin_trgm_ops"}),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    host: Mapped[str] = mapped_column(String(255), unique=True)
    hypervisor_hostname: Mapped[str] = mapped_column(String(255))
    hypervisor_type: Mapped[str] = mapped_column(String(64))
    hypervisor_version: Mapped[int] = mapped_column(default=0)
    host_ip: Mapped[str | None] = mapped_column(String(64))
    vcpus: Mapped[int]
    memory_mb: Mapped[int]
    local_gb: Mapped[int]
    vcpus_used: Mapped[int] = mapped_column(default=0)
    memory_mb_used: Mapped[int] = mapped_column(default=0)
    local_gb_used: Mapped[int] = mapped_column(default=0)
    running_vms: Mapped[int] = mapped_column(default=0)
    cpu_allocation_ratio: Mapped[float] = mapped_column(Float, default=16.0)
    ram_allocation_ratio: Mapped[float] = mapped_column(Float, default=1.5)
    disk_allocation_ratio: Mapped[float] = mapped_column(Float, default=1.0)
    reserved_host_memory_mb: Mapped[int] = mapped_column(default=0)
    reserved_host_disk_mb: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime.datetime | None]


class Allocation(Base):
    """What one instance holds on one node; the sum over a node equals its *_used."""
    __tablename__ = "allocations"
    instance_uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("compute_nodes.id"), index=True)
    vcpus: Mapped[int]
    memory_mb: Mapped[int]
    disk_gb: Mapped[int]
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)


# The columns the server list sorts by, each with its (column, uuid) index on
# live rows; updated_at's (ix_instances_updated_at) is on every row.
INDEXED_SORT_COLUMNS = (
    "created_at", "name", "vm_state", "task_state", "power_state",
    "launched_at", "terminated_at", "host", "node", "key_name", "availability_zone",
    "user_id", "project_id", "image_ref", "flavor_id")


class Instance(Timestamps, Base):
    __tablename__ = "instances"
    __table_args__ = (
        Index("ix_instances_project_live", "project_id", "created_at", "uuid",
              postgresql_where=text("NOT deleted")),
        Index("ix_instances_task_deadline", "task_updated_at",
              postgresql_where=text("task_state IS NOT NULL")),
        Index("ix_instances_reservation_live", "reservation_id",
              postgresql_where=text("NOT deleted")),
        # The server list's sorts and filters (0016): one (key, uuid) index on
        # live rows per sort key, changes-since/before and the sort by
        # updated_at, locked, the name regex.
        *(Index(f"ix_instances_live_{column}", column, "uuid",
                postgresql_where=text("NOT deleted")) for column in INDEXED_SORT_COLUMNS),
        Index("ix_instances_updated_at", "updated_at", "uuid"),
        Index("ix_instances_locked_live", "uuid",
              postgresql_where=text("locked AND NOT deleted")),
        Index("ix_instances_deleted_at", "deleted_at",
              postgresql_where=text("deleted_at IS NOT NULL")),
        Index("ix_instances_live_name_trgm", "name", postgresql_using="gin",
              postgresql_ops={"name": "gin_trgm_ops"}, postgresql_where=text("NOT deleted")),
    )
    uuid: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    id: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    project_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str] = mapped_column(String(36))
    image_ref: Mapped[str | None] = mapped_column(String(36))
    flavor_id: Mapped[str] = mapped_column(String(255))   # the API flavorid at boot
    flavor: Mapped[dict]                                   # snapshot of the flavor
    vcpus: Mapped[int]
    memory_mb: Mapped[int]
    root_gb: Mapped[int]
    ephemeral_gb: Mapped[int] = mapped_column(default=0)
    key_name: Mapped[str | None] = mapped_column(String(255))
    key_data: Mapped[str | None] = mapped_column(Text)
    user_data: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict] = mapped_column("metadata", default=dict)
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    reservation_id: Mapped[str | None] = mapped_column(String(255))
    launch_index: Mapped[int] = mapped_column(default=0)
    config_drive: Mapped[str] = mapped_column(String(255), default="")
    access_ip_v4: Mapped[str | None] = mapped_column(String(64))
    access_ip_v6: Mapped[str | None] = mapped_column(String(64))
    vm_state: Mapped[str] = mapped_column(String(255))
    task_state: Mapped[str | None] = mapped_column(String(255))
    task_updated_at: Mapped[datetime.datetime | None] = mapped_column(default=utcnow)
    # The reconciler's last nudge of the task and how many it has had
    # (conductor/reconciler.py); a nudge older than task_updated_at was for an
    # earlier task and counts for nothing.
    task_nudged_at: Mapped[datetime.datetime | None]
    task_nudges: Mapped[int] = mapped_column(default=0, server_default="0")
    power_state: Mapped[int] = mapped_column(default=0)
    host: Mapped[str | None] = mapped_column(String(255))
    node: Mapped[str | None] = mapped_column(String(255))
    locked: Mapped[bool] = mapped_column(default=False)
    locked_reason: Mapped[str | None] = mapped_column(Text)
    locked_by: Mapped[str | None] = mapped_column(String(255))   # 'owner' or 'admin'
    hostname: Mapped[str | None] = mapped_column(String(255))    # 2.90's; else from name
    tags: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")
    # The create request's os:scheduler_hints (shown at 2.100).
    scheduler_hints: Mapped[dict] = mapped_column(default=dict, server_default="{}")
    progress: Mapped[int] = mapped_column(default=0)
    launched_at: Mapped[datetime.datetime | None]
    terminated_at: Mapped[datetime.datetime | None]
    deleted: Mapped[bool] = mapped_column(default=False)
    deleted_at: Mapped[datetime.datetime | None]


class InstanceFault(Base):
    __tablename__ = "instance_faults"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), index=True)
    code: Mapped[int] = mapped_column(default=500)
    message: Mapped[str] = mapped_column(String(255))
    details: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)


class InstanceAction(Base):
    """A user-visible action on an instance (os-instance-actions)."""
    __tablename__ = "instance_actions"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(255))
    request_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(36))
    project_id: Mapped[str | None] = mapped_column(String(36))
    start_time: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    finish_time: Mapped[datetime.datetime | None]
    message: Mapped[str | None] = mapped_column(String(255))


class InstanceActionEvent(Base):
    __tablename__ = "instance_action_events"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("instance_actions.id",
                                                      ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255))
    result: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[str | None] = mapped_column(Text)
    start_time: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    finish_time: Mapped[datetime.datetime | None]


class Migration(Timestamps, Base):
    """A move of an instance (Nova's migrations table: os-migrations): a
    resize today. While it is unconfirmed the migration's uuid holds the old
    flavor's allocation (as Nova's placement does), the instance the new."""
    __tablename__ = "migrations"
    __table_args__ = (Index("ix_migrations_instance", "instance_uuid", "id"),
                      Index("ix_migrations_status", "status", "updated_at"))
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    instance_uuid: Mapped[str] = mapped_column(String(36))
    source_compute: Mapped[str | None] = mapped_column(String(255))
    dest_compute: Mapped[str | None] = mapped_column(String(255))
    source_node: Mapped[str | None] = mapped_column(String(255))
    dest_node: Mapped[str | None] = mapped_column(String(255))
    dest_host: Mapped[str | None] = mapped_column(String(255))
    old_instance_type_id: Mapped[str | None] = mapped_column(String(255))
    new_instance_type_id: Mapped[str | None] = mapped_column(String(255))
    old_flavor: Mapped[dict]
    new_flavor: Mapped[dict]
    status: Mapped[str] = mapped_column(String(255))
    migration_type: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(36))
    user_id: Mapped[str | None] = mapped_column(String(36))
    deleted: Mapped[bool] = mapped_column(default=False)
