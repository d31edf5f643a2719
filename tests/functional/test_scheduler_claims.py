"""The atomic claim against PostgreSQL: racing claimers never overcommit a
host, release is exact and idempotent, and the candidate query respects
capacity and service state."""
import concurrent.futures
import uuid

import pytest
from sqlalchemy import delete, select, text

from nova_lite.db import allocations, models
from nova_lite.db.session import reader, transaction
from nova_lite.scheduler import candidates
from nova_lite.scheduler.request import Request
from tests.fixtures.nodes import make_node


@pytest.fixture(autouse=True, scope="module")
def phantom_nodes_go_down(configured):
    """The nodes made here have no compute service behind them: disable them
    afterwards, so no later scheduling in this database places a server on one
    (its build would wait in a queue nobody consumes)."""
    yield
    with transaction() as session:
        session.execute(text("UPDATE services SET disabled = true "
                             "WHERE host ~ '^(race|rel|big|small|down|dup)-[0-9a-f]{6}$'"))


def node(node_id):
    with reader() as session:
        return session.get(models.ComputeNode, node_id)


def test_racing_claims_never_overcommit(configured):
    node_id = make_node(f"race-{uuid.uuid4().hex[:6]}", vcpus=64, memory_mb=4096 + 512)

    def attempt(_):
        with transaction() as session:
            return allocations.claim(session, node_id, str(uuid.uuid4()), 1, 512, 1)

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(attempt, range(40)))
    assert results.count(True) == 8            # 4096 MiB / 512 MiB
    row = node(node_id)
    assert (row.memory_mb_used, row.vcpus_used, row.running_vms) == (4096, 8, 8)
    with reader() as session:
        held = session.scalars(select(models.Allocation)
                               .where(models.Allocation.node_id == node_id)).all()
    assert len(held) == 8 and sum(a.memory_mb for a in held) == 4096


def test_release_is_exact_and_idempotent(configured):
    node_id = make_node(f"rel-{uuid.uuid4().hex[:6]}")
    instance = str(uuid.uuid4())
    with transaction() as session:
        assert allocations.claim(session, node_id, instance, 2, 1024, 10)
    with transaction() as session:
        with pytest.raises(allocations.AlreadyClaimed):
            allocations.claim(session, node_id, instance, 2, 1024, 10)
    assert node(node_id).memory_mb_used == 1024, "a second claim must not double-count"
    with transaction() as session:
        assert allocations.release(session, instance)
    with transaction() as session:
        assert not allocations.release(session, instance)
    row = node(node_id)
    assert (row.vcpus_used, row.memory_mb_used, row.local_gb_used, row.running_vms) == \
        (0, 0, 0, 0)


def test_candidates_respect_capacity_and_service_state(configured):
    tag = uuid.uuid4().hex[:6]
    big = make_node(f"big-{tag}", memory_mb=16384)
    small = make_node(f"small-{tag}", memory_mb=1024)
    down = make_node(f"down-{tag}", memory_mb=32768, up=False)
    request = Request(instance_uuid=str(uuid.uuid4()), vcpus=1, memory_mb=2048, disk_gb=1)
    with reader() as session:
        found = [h.node_id for h in candidates.query(session, request, limit=1000)]
    assert big in found
    assert small not in found        # too little RAM after the reservation
    assert down not in found         # no heartbeat
    with transaction() as session:
        session.execute(delete(models.Service).where(models.Service.host.like(f"%-{tag}")))
