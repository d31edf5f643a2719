"""Quotas: limits set per project, per user and per class, and the usage
counters the database keeps itself (migrations 0011 and 0012,
nova_lite.db.quotas).

``user_id`` is '' in a project's own rows; a key pair's usage row has
project_id '' (key pairs belong to users)."""
import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from nova_lite.db.models.base import Base, utcnow


class Quota(Base):
    """A limit set for a project (user_id '') or for one user in it."""
    __tablename__ = "quotas"
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(255), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)


class QuotaClass(Base):
    """A limit of a quota class (only ``default`` is used: os-quota-class-sets)."""
    __tablename__ = "quota_classes"
    class_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(255), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)


class QuotaUsage(Base):
    """How much of a resource a project holds (user_id ''; project_id '' and
    the user's id: the user's key pairs): moved by the triggers of 0011 and
    0012 in the transaction that makes or removes the rows counted (key
    pairs: by nova_lite.db.quotas.consume_key_pair)."""
    __tablename__ = "quota_usages"
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(255), primary_key=True)
    in_use: Mapped[int] = mapped_column(BigInteger, default=0)
