"""The schema the migrations build is the one the models describe: nothing
for autogenerate to add, drop or change (so `nova-lite-manage db sync` on a
new install and an upgraded one give the same tables and indexes)."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from nova_lite.db.models import Base
from nova_lite.db.session import get_engine


def test_migrations_match_the_models(configured):
    with get_engine().connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
