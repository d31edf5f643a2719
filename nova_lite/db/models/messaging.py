"""Messaging: the transactional outbox."""
import datetime

from sqlalchemy import BigInteger, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from nova_lite.db.models.base import Base, utcnow


class OutboxMessage(Base):
    """A message written in the same transaction as the rows it is about;
    the relay publishes it with a broker confirm and then stamps ``sent_at``."""
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_unsent", "id", postgresql_where=text("sent_at IS NULL")),
        Index("ix_outbox_sent", "sent_at", postgresql_where=text("sent_at IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    routing_key: Mapped[str] = mapped_column(String(255))
    body: Mapped[dict]
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime.datetime | None]
