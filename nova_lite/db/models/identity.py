"""Identity: projects, users, roles, role assignments, application
credentials and token revocation events."""
import datetime
import uuid

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, String, Text, \
    UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from nova_lite.db.models.base import Base, Timestamps, utcnow


def _hex_id():
    return uuid.uuid4().hex


class Project(Timestamps, Base):
    __tablename__ = "projects"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_hex_id)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    domain_id: Mapped[str] = mapped_column(String(64), default="default")
    enabled: Mapped[bool] = mapped_column(default=True)


class User(Timestamps, Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_hex_id)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    domain_id: Mapped[str] = mapped_column(String(64), default="default")
    default_project_id: Mapped[str | None] = mapped_column(String(36))
    enabled: Mapped[bool] = mapped_column(default=True)
    # Lockout ([identity] lockout_failure_attempts): consecutive failed
    # password logins and the time of the last one.
    failed_auth_count: Mapped[int] = mapped_column(default=0, server_default="0")
    failed_auth_at: Mapped[datetime.datetime | None] = mapped_column()
    # Keystone's user option ignore_lockout_failure_attempts (service users).
    ignore_lockout: Mapped[bool] = mapped_column(default=False, server_default="false")


class Role(Timestamps, Base):
    __tablename__ = "roles"
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=_hex_id)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")


class RoleAssignment(Base):
    __tablename__ = "role_assignments"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"),
                                            primary_key=True)
    role_id: Mapped[str] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"),
                                         primary_key=True)
    # The role's name, for the code of the release before 0008 during a
    # rolling upgrade; kept in step with role_id by a trigger (0008). Never
    # read it: it goes once no such release can be running.
    role: Mapped[str | None] = mapped_column(String(64))


class ApplicationCredential(Base):
    __tablename__ = "application_credentials"
    __table_args__ = (UniqueConstraint("user_id", "name"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=_hex_id)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    secret_hash: Mapped[str] = mapped_column(String(255))
    roles: Mapped[list] = mapped_column(JSONB)       # role ids
    unrestricted: Mapped[bool] = mapped_column(default=False)
    expires_at: Mapped[datetime.datetime | None] = mapped_column()
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)


class RevocationEvent(Base):
    """A token matching every non-null column, issued at or before
    ``issued_before``, is revoked (nova_lite.db.revocations)."""
    __tablename__ = "revocation_events"
    __table_args__ = (Index("ix_revocation_events_created_at", "created_at"),)
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(36))
    project_id: Mapped[str | None] = mapped_column(String(36))
    audit_id: Mapped[str | None] = mapped_column(String(64))
    app_cred_id: Mapped[str | None] = mapped_column(String(64))
    issued_before: Mapped[datetime.datetime] = mapped_column()
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
