"""Alembic environment: the schema of nova_lite.db.models, on PostgreSQL."""
from alembic import context
from sqlalchemy import create_engine

from nova_lite.db import models

config = context.config
target_metadata = models.Base.metadata


def run_migrations_online():
    url = config.get_main_option("sqlalchemy.url")
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          compare_type=True)
        with context.begin_transaction():
            # One migrator at a time, even if two nodes run db sync together.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7461926)")
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"),
                      target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
