"""The reconciler against PostgreSQL and RabbitMQ (in-process, no workers on
this vhost): stalled tasks are re-sent, and tasks past their deadline end
with a fault, so nothing stays in a task forever."""
import concurrent.futures
import contextlib
import datetime
import threading
import uuid

import pytest
from sqlalchemy import event, select, text, update
from sqlalchemy import exc as sa_exc

from nova_lite.conductor import reconciler
from nova_lite.db import allocations, instances, models, services
from nova_lite.db.session import get_engine, reader, transaction
from nova_lite.objects import states
from nova_lite.rpc import topology, transport
from tests.fixtures import quotas

I = models.Instance


def make_instance(vm_state, task_state, host=None, age=0):
    instance_uuid = str(uuid.uuid4())
    with transaction() as session:
        quotas.unlimit(session, (), ["p"])      # the tests make many of these
        session.add(I(uuid=instance_uuid, name="r", project_id="p", user_id="u",
                      image_ref=None, flavor_id="1", flavor={}, vcpus=1, memory_mb=64,
                      root_gb=1, vm_state=vm_state, task_state=task_state, host=host,
                      node=host,
                      task_updated_at=models.utcnow() - datetime.timedelta(seconds=age)))
    return instance_uuid


def get(instance_uuid):
    with reader() as session:
        return session.get(I, instance_uuid)


def fault(instance_uuid):
    with reader() as session:
        return session.scalars(select(models.InstanceFault.message)
                               .where(models.InstanceFault.instance_uuid == instance_uuid)
                               ).first()


def take(topic):
    """The method names of the messages waiting on ``topic``, taken off it."""
    from nova_lite.rpc import envelope
    methods = []
    with transport.connect() as conn:
        channel = conn.channel()
        topology.declare(channel, topic)
        while (message := channel.basic_get(topic, no_ack=True)) is not None:
            methods.append(envelope.decode(message.body)["method"])
    return methods


def queued(topic):
    with transport.connect() as conn:
        channel = conn.channel()
        topology.declare(channel, topic)
        return topology.work_queue(topic)(channel).queue_declare(passive=True).message_count


@pytest.fixture
def quiet(configured):
    """No other stalled rows from earlier tests interfere: age them out of reach."""
    with transaction() as session:
        session.execute(update(I).where(I.task_state.is_not(None))
                        .values(task_updated_at=models.utcnow()))
    return configured


def test_a_stalled_build_is_sent_again(quiet):
    before = queued("scheduler")
    fresh = make_instance(states.BUILDING, states.SCHEDULING, age=5)
    stalled = make_instance(states.BUILDING, states.SCHEDULING, age=120)
    nudged, expired = reconciler.reconcile_once()
    assert (nudged, expired) == (1, 0)
    assert queued("scheduler") == before + 1
    assert get(stalled).vm_state == states.BUILDING and get(fresh).vm_state == states.BUILDING


def test_a_task_that_stays_slow_is_nudged_less_and_less_often(quiet):
    """A build that is only slow (its queue is long) gets a nudge, then
    waits 2x, 4x ... redrive_after before the next, not one every pass."""
    after = datetime.timedelta(seconds=reconciler.CONF.conductor.redrive_after)
    # This test's clock runs ten years in the past: every other test's task is
    # newer than any cut-off it passes, so each pass sees this instance alone.
    past = datetime.timedelta(days=3650)
    before = queued("scheduler")
    slow = make_instance(states.BUILDING, states.SCHEDULING,
                         age=(past + after).total_seconds() + 5)
    now = models.utcnow() - past
    assert reconciler.reconcile_once(now) == (1, 0)
    assert reconciler.reconcile_once(now + after) == (0, 0)
    assert reconciler.reconcile_once(now + 2 * after + datetime.timedelta(seconds=1)) == (1, 0)
    assert reconciler.reconcile_once(now + 4 * after) == (0, 0)
    assert reconciler.reconcile_once(now + 6 * after + datetime.timedelta(seconds=2)) == (1, 0)
    assert queued("scheduler") == before + 3
    assert get(slow).task_nudges == 3
    with transaction() as session:      # a ten-year-old task would be expired by others
        session.execute(update(I).where(I.uuid == slow).values(task_state=None))


def test_a_spawn_stalled_on_a_host_is_resent_to_that_host(quiet):
    host = f"rh-{uuid.uuid4().hex[:6]}"
    before = queued(topology.compute_topic(host))
    make_instance(states.BUILDING, states.SPAWNING, host=host, age=120)
    assert reconciler.reconcile_once() == (1, 0)
    assert queued(topology.compute_topic(host)) == before + 1


def test_a_server_deleted_in_build_is_sent_its_delete_not_its_build(quiet):
    # Deleted while its host was spawning it, and the terminate was lost:
    # re-sending the build would spawn it again and never delete it.
    host = f"rh-{uuid.uuid4().hex[:6]}"
    take(topology.compute_topic(host))
    make_instance(states.BUILDING, states.DELETING, host=host, age=120)
    assert reconciler.reconcile_once() == (1, 0)
    assert take(topology.compute_topic(host)) == ["terminate_instance"]


def test_a_server_deleted_in_build_past_its_delete_deadline_is_deleted_not_error(quiet):
    host = f"rh-{uuid.uuid4().hex[:6]}"
    age = quiet.conductor.delete_timeout + 5
    assert age < quiet.conductor.build_timeout       # the delete's deadline applies
    instance_uuid = make_instance(states.BUILDING, states.DELETING, host=host, age=age)
    assert reconciler.reconcile_once() == (0, 1)
    row = get(instance_uuid)
    assert row.deleted and (row.vm_state, row.task_state) == (states.DELETED, None)
    assert fault(instance_uuid) is None


def test_a_build_past_its_deadline_ends_in_error_with_no_claim(quiet):
    host = f"rh-{uuid.uuid4().hex[:6]}"
    with transaction() as session:
        services.upsert_compute_node(session, host, {
            "hypervisor_hostname": host, "hypervisor_type": "fake", "vcpus": 4,
            "memory_mb": 4096, "local_gb": 10})
        node_id = session.scalars(select(models.ComputeNode.id)
                                  .where(models.ComputeNode.host == host)).one()
    instance_uuid = make_instance(states.BUILDING, states.SPAWNING, host=host,
                                  age=quiet.conductor.build_timeout + 5)
    with transaction() as session:
        assert allocations.claim(session, node_id, instance_uuid, 1, 64, 1)
    assert reconciler.reconcile_once() == (0, 1)
    row = get(instance_uuid)
    assert (row.vm_state, row.task_state, row.host) == (states.ERROR, None, None)
    assert "timed out" in fault(instance_uuid)
    with reader() as session:
        node = session.get(models.ComputeNode, node_id)
        assert (node.vcpus_used, node.memory_mb_used, node.running_vms) == (0, 0, 0)


def test_a_delete_past_its_deadline_is_completed(quiet):
    instance_uuid = make_instance(states.ACTIVE, states.DELETING, host="gone-host",
                                  age=quiet.conductor.delete_timeout + 5)
    assert reconciler.reconcile_once() == (0, 1)
    assert get(instance_uuid).deleted


def test_a_power_action_past_its_deadline_is_cleared_with_a_fault(quiet):
    instance_uuid = make_instance(states.ACTIVE, states.POWERING_OFF, host="slow-host",
                                  age=quiet.conductor.action_timeout + 5)
    assert reconciler.reconcile_once() == (0, 1)
    row = get(instance_uuid)
    assert (row.vm_state, row.task_state) == (states.ACTIVE, None)
    assert "powering-off timed out" in fault(instance_uuid)


# -- a pass under a backlog: short transactions, each nudge once ------------------------
@contextlib.contextmanager
def batch_of(size):
    reconciler.CONF.set_override("reconcile_batch", size, group="conductor")
    try:
        yield
    finally:
        reconciler.CONF.clear_override("reconcile_batch", group="conductor")


def make_node(host):
    with transaction() as session:
        services.upsert_compute_node(session, host, {
            "hypervisor_hostname": host, "hypervisor_type": "fake", "vcpus": 4,
            "memory_mb": 4096, "local_gb": 10})
        return session.scalars(select(models.ComputeNode.id)
                               .where(models.ComputeNode.host == host)).one()


def probe(instance_uuids, node_id):
    """From another connection, touch these instance rows and this node as
    any worker would (a claim, a heartbeat): None if it could, else the error
    (lock_timeout: a row lock held elsewhere made it wait 5 s)."""
    try:
        with transaction() as session:
            session.execute(text("SET LOCAL lock_timeout = '5s'"))
            session.execute(update(I).where(I.uuid.in_(instance_uuids))
                            .values(updated_at=I.updated_at))
            session.execute(update(models.ComputeNode).where(models.ComputeNode.id == node_id)
                            .values(vcpus_used=models.ComputeNode.vcpus_used))
    except sa_exc.OperationalError as exc:
        return exc
    return None


@contextlib.contextmanager
def while_building_messages(action):
    """Run ``action(own_xid)`` inside the pass, each time this thread reads
    ports (the network_info of a build's payload), with the transaction id
    the reconciler's own connection holds at that moment (None: it has locked
    and written nothing)."""
    engine, me, busy = get_engine(), threading.get_ident(), []

    def hook(conn, cursor, statement, *args):
        if threading.get_ident() != me or busy or "FROM ports" not in statement:
            return
        busy.append(True)
        try:
            check = cursor.connection.cursor()
            check.execute("SELECT txid_current_if_assigned()")
            action(check.fetchone()[0])
        finally:
            busy.pop()

    event.listen(engine, "before_cursor_execute", hook)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", hook)


def test_no_row_or_node_is_locked_while_nudges_are_built(quiet):
    """The flood's freeze: the pass held its rows FOR UPDATE (and, after a
    build expired, its node) while it looked up each redriven build's
    network_info, and every claim and heartbeat behind them waited."""
    host = f"rh-{uuid.uuid4().hex[:6]}"
    node_id = make_node(host)
    expiring = make_instance(states.BUILDING, states.SPAWNING, host=host,
                             age=quiet.conductor.build_timeout + 5)
    with transaction() as session:
        assert allocations.claim(session, node_id, expiring, 1, 64, 1)
    stalled = [make_instance(states.BUILDING, states.SPAWNING, host=host, age=120 + n)
               for n in range(5)]
    seen = []
    with while_building_messages(lambda xid: seen.append((xid, probe(
            stalled + [expiring], node_id)))):
        assert reconciler.reconcile_once() == (5, 1)
    assert seen, "the pass built build payloads"
    assert seen == [(None, None)] * len(seen)
    take(topology.compute_topic(host))


def test_a_nudge_for_a_task_that_moved_on_is_not_sent(quiet):
    before = queued("scheduler")
    waiting = make_instance(states.BUILDING, states.SCHEDULING, age=120)
    now = models.utcnow()
    seen = [row for row in reconciler.stalled(now) if row.uuid == waiting]
    assert len(seen) == 1
    host = f"rh-{uuid.uuid4().hex[:6]}"
    take(topology.compute_topic(host))
    with transaction() as session:      # a scheduler places it meanwhile
        assert instances.transition(session, waiting, {"task_state": states.SCHEDULING},
                                    task_state=states.SPAWNING, host=host, node=host)
    assert reconciler.send_nudges(seen, now) == 0
    assert queued("scheduler") == before
    assert take(topology.compute_topic(host)) == []
    assert get(waiting).task_nudged_at is None


def test_two_reconcilers_at_once_send_each_nudge_once(quiet):
    before = queued("scheduler")
    waiting = {make_instance(states.BUILDING, states.SCHEDULING, age=120) for _ in range(20)}
    now = models.utcnow()
    # Both read the same candidates before either stamps one, then race.
    seen = [[row for row in reconciler.stalled(now) if row.uuid in waiting]
            for _ in range(2)]
    assert [len(rows) for rows in seen] == [20, 20]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        sent = list(pool.map(lambda rows: reconciler.send_nudges(rows, now), seen))
    assert sum(sent) == 20
    assert queued("scheduler") == before + 20
    assert {get(u).task_nudges for u in waiting} == {1}
    assert reconciler.reconcile_once(now) == (0, 0)       # and a third pass: not yet due


def test_expiry_is_not_starved_by_older_tasks_still_in_time(quiet):
    """Snapshots have the longest deadline: a batch of old ones that are still
    in time must not keep a younger task past its own from ending."""
    age = quiet.conductor.action_timeout
    assert age + 100 < quiet.conductor.snapshot_timeout
    snapshots = [make_instance(states.ACTIVE, states.IMAGE_SNAPSHOT, host="snap-host",
                               age=age + 100 + n) for n in range(5)]
    late = make_instance(states.ACTIVE, states.POWERING_OFF, host="slow-host", age=age + 5)
    try:
        with batch_of(3):
            assert reconciler.reconcile_once()[1] == 1
        assert get(late).task_state is None
    finally:
        with transaction() as session:
            session.execute(update(I).where(I.uuid.in_(snapshots)).values(task_state=None))


def test_tasks_waiting_out_their_backoff_do_not_fill_the_batch(quiet):
    before = queued("scheduler")
    waiting = [make_instance(states.BUILDING, states.SCHEDULING, age=300 - n)
               for n in range(3)]
    now = models.utcnow()
    with batch_of(2):
        assert reconciler.reconcile_once(now) == (2, 0)     # the two oldest
        assert reconciler.reconcile_once(now) == (1, 0)     # then the third
        assert reconciler.reconcile_once(now) == (0, 0)
    assert queued("scheduler") == before + 3
    assert [get(u).task_nudges for u in waiting] == [1, 1, 1]


def test_a_new_task_starts_its_backoff_afresh(quiet):
    """The stamp of an earlier task's nudges counts for nothing."""
    host = f"rh-{uuid.uuid4().hex[:6]}"
    take(topology.compute_topic(host))
    moving = make_instance(states.BUILDING, states.SCHEDULING, host=None, age=400)
    now = models.utcnow()
    assert reconciler.reconcile_once(now - datetime.timedelta(seconds=200)) == (1, 0)
    with transaction() as session:      # placed after that nudge; its build is lost
        session.execute(update(I).where(I.uuid == moving).values(
            task_state=states.SPAWNING, host=host, node=host,
            task_updated_at=now - datetime.timedelta(seconds=100)))
    assert reconciler.reconcile_once(now) == (1, 0)
    assert take(topology.compute_topic(host)) == ["build_and_run_instance"]
    assert get(moving).task_nudges == 1
