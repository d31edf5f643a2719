"""Lock order: whoever deletes or fails one instance locks its node before its
row, as claims and batched delete reports do, so two of them on the same
instance wait for each other instead of deadlocking (a failed spawn and the
host's terminate report of a server deleted in BUILD did)."""
import concurrent.futures
import threading
import time
import uuid

from sqlalchemy import text

from nova_lite.db import allocations, build_results
from nova_lite.db import instances as instance_db
from nova_lite.db.session import transaction
from tests.fixtures.nodes import instances, make_node


def test_a_delete_and_a_terminate_report_of_one_instance_do_not_deadlock(configured):
    host = f"lo-{uuid.uuid4().hex[:6]}"
    node_id = make_node(host, vcpus=8, memory_mb=8192)
    (instance_uuid,) = instances(1, vcpus=1)
    with transaction() as session:
        assert allocations.claim(session, node_id, instance_uuid, 1, 64, 1)
        session.execute(text("UPDATE instances SET host = :h, task_state = 'deleting' "
                             "WHERE uuid = :u"), {"h": host, "u": instance_uuid})
    node_locked = threading.Event()

    def report():            # the conductor's batched path: nodes, then rows
        with transaction() as session:
            session.execute(text("SELECT id FROM compute_nodes WHERE id = :n FOR UPDATE"),
                            {"n": node_id})
            node_locked.set()
            time.sleep(1.0)  # the other one is now waiting, on the node or its row
            return build_results.terminated(session, [{"instance_uuid": instance_uuid,
                                                       "host": host}])

    def delete():            # the API's, reconciler's or failed spawn's path
        node_locked.wait(10)
        with transaction() as session:
            return instance_db.mark_deleted(session, instance_uuid, host=host)

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        reported, deleted = pool.submit(report), pool.submit(delete)
        assert reported.result(timeout=30) == [instance_uuid]
        assert deleted.result(timeout=30) is False          # already done, no deadlock
    with transaction() as session:
        used = session.execute(text("SELECT vcpus_used, running_vms FROM compute_nodes "
                                    "WHERE id = :n"), {"n": node_id}).one()
        session.execute(text("UPDATE services SET disabled = true WHERE host = :h"),
                        {"h": host})
    assert tuple(used) == (0, 0)
