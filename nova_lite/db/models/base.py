"""The declarative base and the helpers every table module shares."""
import datetime
import uuid

from sqlalchemy import DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow():
    return datetime.datetime.now(datetime.UTC)


def new_uuid():
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    type_annotation_map = {datetime.datetime: DateTime(timezone=True), dict: JSONB}


class Timestamps:
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(onupdate=utcnow)
