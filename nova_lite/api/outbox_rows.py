"""Outbox rows for many messages in one INSERT (executemany): what
``rpc.outbox.enqueue`` does one ORM object at a time, for the API's hot paths
(server create and delete). Same rows: routing key, envelope, created_at."""
from sqlalchemy import insert

from nova_lite.db import models
from nova_lite.rpc import envelope

_INSERT = insert(models.OutboxMessage.__table__)


def enqueue_many(session, messages, context=None):
    """Add ``messages`` (rpc.casts Messages) to the outbox inside the caller's
    transaction; the relay is woken after commit as for ``outbox.enqueue``."""
    if not messages:
        return
    session.execute(_INSERT, [{"routing_key": message.topic,
                               "body": envelope.build(message.method, message.args, context),
                               "created_at": models.utcnow()}
                              for message in messages])
