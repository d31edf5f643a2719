"""Schema migrations: ``nova-lite-manage db sync`` runs Alembic to head.

The scripts live in the repository's ``migrations/`` directory; an installed
wheel carries them in ``<prefix>/share/nova-lite/migrations``."""
import os
import sys

from alembic import command
from alembic.config import Config


def migrations_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [
        os.path.join(here, "..", "..", "migrations"),
        os.path.join(sys.prefix, "share", "nova-lite", "migrations"),
    ]
    for path in candidates:
        if os.path.exists(os.path.join(path, "env.py")):
            return os.path.abspath(path)
    raise RuntimeError("cannot find nova-lite's migrations directory")


def alembic_config(url):
    path = migrations_dir()
    cfg = Config(os.path.join(path, "alembic.ini"))
    cfg.set_main_option("script_location", path)
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def sync(url, revision="head"):
    command.upgrade(alembic_config(url), revision)


def current(url):
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.connect() as conn:
        rev = MigrationContext.configure(conn).get_current_revision()
    engine.dispose()
    return rev
