"""Scheduling: server groups and what a server asked of the scheduler.

A RequestSpec row exists only for a server that asked for something beyond
its flavor (a server group, a scheduler hint, a forced host), so a plain
create writes none. A server group's members are the live instances whose
spec names the group."""
from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from nova_lite.db.models.base import Base, Timestamps, new_uuid


class InstanceGroup(Timestamps, Base):
    """A server group (os-server-groups): a placement policy for its members."""
    __tablename__ = "instance_groups"
    __table_args__ = (Index("ix_instance_groups_project", "project_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    # affinity, anti-affinity, soft-affinity, soft-anti-affinity
    policy: Mapped[str] = mapped_column(String(32))
    # {"max_server_per_host": n} (anti-affinity only, microversion 2.64)
    rules: Mapped[dict] = mapped_column(JSONB, default=dict)


class RequestSpec(Base):
    """What a server asked of the scheduler: its group, its hints
    ({"same_host": [uuids], "different_host": [uuids], "build_near_host_ip":
    ip, "cidr": "/24"}) and a host an admin forced (availability_zone
    ``zone:host[:node]``)."""
    __tablename__ = "request_specs"
    __table_args__ = (Index("ix_request_specs_group", "group_id"),)
    instance_uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("instance_groups.id", ondelete="SET NULL"))
    hints: Mapped[dict] = mapped_column(JSONB, default=dict)
    force_host: Mapped[str | None] = mapped_column(String(255))
    force_node: Mapped[str | None] = mapped_column(String(255))
