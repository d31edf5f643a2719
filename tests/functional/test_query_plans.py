"""The hot queries reach their indexes. With sequential scans and sorts
priced out (``enable_seqscan = off``, ``enable_sort = off``) a query whose
WHERE clause implies a partial index's predicate uses that index, and an
ordered query uses the index that gives its order; one that cannot
(``deleted IS false`` does not imply the index's ``NOT deleted``) still
scans, which is what made a simulated fleet's power-state reports cost 650 ms
each at 100,000 servers.

Plans are checked, not timed: the test database is small, so where several
partial indexes on live rows could serve a query the planner may pick any of
them (on a near-empty table one is as cheap as another); what matters, and
what is asserted, is that one on live rows is usable at all. Without
``enable_sort = off`` the reconciler's ordered query could be served by any
index on live rows plus a sort when the table's statistics made that look
cheaper (a CI run saw it); only its own index can serve it without one."""
import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql

from nova_lite.conductor import reconciler
from nova_lite.db import instances, models
from nova_lite.db.session import transaction

I = models.Instance


def plan(statement):
    sql = str(statement.compile(dialect=postgresql.dialect(),
                                compile_kwargs={"literal_binds": True}))
    with transaction() as session:
        session.execute(text("SET LOCAL enable_seqscan = off"))
        session.execute(text("SET LOCAL enable_sort = off"))
        return "\n".join(r[0] for r in session.execute(text("EXPLAIN " + sql)))


def on_host_statement():
    return select(I.uuid, I.vm_state, I.task_state, I.power_state).where(
        I.host == "h-1", ~I.deleted)


LIVE = ("ix_instances_live_host", "ix_instances_project_live",
        "ix_instances_reservation_live")


def uses(plan_text, indexes):
    return any(index in plan_text for index in indexes)


@pytest.mark.parametrize("name, statement, indexes", [
    ("instances on a host (power-state reports)", on_host_statement(), LIVE),
    ("a project's servers, newest first (GET /servers)",
     select(I.uuid).where(I.project_id == "p", ~I.deleted)
     .order_by(I.created_at.desc(), I.uuid.desc()).limit(1000),
     ("ix_instances_project_live",)),
    ("a reservation's servers (multi-create)",
     select(I.uuid).where(I.reservation_id == "r-1", ~I.deleted), LIVE),
    ("a project's grant of a private flavor (server create)",
     select(models.FlavorProject.id).where(models.FlavorProject.flavor_id == 1,
                                           models.FlavorProject.project_id == "p"),
     ("flavor_projects_flavor_id_project_id_key",)),
])
def test_hot_queries_use_their_index(configured, name, statement, indexes):
    assert uses(plan(statement), indexes), name


def test_the_statement_power_reports_run_is_the_indexed_one(configured):
    """instances.on_host builds its own statement: check that one."""
    captured = []

    class Recorder:
        def execute(self, statement, *args):
            captured.append(statement)
            return type("R", (), {"all": lambda self: []})()

    instances.on_host(Recorder(), "h-1")
    assert uses(plan(captured[0]), LIVE)


@pytest.mark.parametrize("query", [reconciler.overdue_query, reconciler.stalled_query])
def test_the_reconciler_walks_its_index_in_order(configured, query):
    """Both of the reconciler's passes (expiry, nudges) are a range of
    ix_instances_task_deadline read in its order, with no sort: the statements
    it runs, built here as it builds them."""
    statement = query(models.utcnow())
    text_plan = plan(statement)
    assert uses(text_plan, ("ix_instances_task_deadline",)), text_plan
    assert "Sort" not in text_plan, text_plan


def test_is_false_cannot_use_the_partial_index(configured):
    """Why ``~I.deleted`` and never ``I.deleted.is_(False)``: no index on
    live rows can serve it."""
    assert not uses(plan(select(I.uuid).where(I.host == "h-1", I.deleted.is_(False))),
                    LIVE)
