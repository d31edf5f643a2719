"""The reconciler bounds a resize like every task (in process, on the tests'
database): a resize past its deadline is undone (old flavor, old claim, a
fault, the migration in error); a resize left in VERIFY_RESIZE is confirmed
after [compute] resize_confirm_window; the old flavor's claim of a server
deleted before it was confirmed is released."""
import datetime
import uuid

import pytest
from sqlalchemy import select, update

from nova_lite.conductor import manager as conductor_manager
from nova_lite.conductor import reconciler
from nova_lite.db import allocations, instances, models
from nova_lite.db import tasks as task_db
from nova_lite.db.session import reader, transaction
from nova_lite.objects import states, tasks
from nova_lite.rpc import envelope, topology, transport
from tests.fixtures import quotas
from tests.fixtures.nodes import accounting_errors, make_node

I, M = models.Instance, models.Migration
OLD = {"flavorid": "1", "name": "m1.tiny", "vcpus": 1, "memory_mb": 512, "root_gb": 1,
       "ephemeral_gb": 0, "swap": 0, "extra_specs": {}}
NEW = {**OLD, "flavorid": "2", "name": "m1.small", "memory_mb": 2048, "root_gb": 20}


@pytest.fixture
def quiet(configured):
    """No stalled rows of earlier tests in the way: their tasks start now."""
    with transaction() as session:
        session.execute(update(I).where(I.task_state.is_not(None))
                        .values(task_updated_at=models.utcnow()))
    return configured


def taken(topic):
    """The method names of the messages waiting on ``topic``, taken off it."""
    methods = []
    with transport.connect() as conn:
        channel = conn.channel()
        topology.declare(channel, topic)
        while (message := channel.basic_get(topic, no_ack=True)) is not None:
            methods.append(envelope.decode(message.body)["method"])
    return methods


def resizing(host):
    """An ACTIVE m1.tiny server on ``host`` whose resize to m1.small has started."""
    node_id = make_node(host, vcpus=8, memory_mb=16384, disk=100)
    server = str(uuid.uuid4())
    with transaction() as session:
        quotas.unlimit(session, (), ["p-resize"])
        session.add(I(uuid=server, name="r", project_id="p-resize", user_id="u",
                      flavor_id="1", flavor=OLD, vcpus=1, memory_mb=512, root_gb=1,
                      vm_state=states.ACTIVE, task_state=None, host=host, node=host,
                      power_state=states.RUNNING))
        session.flush()
        assert allocations.claim(session, node_id, server, 1, 512, 1)
    with transaction() as session:
        row = instances.get(session, server, for_update=True)
        task_db.begin(session, row, tasks.TASKS["resize"], {"request_id": "req-t"})
        assert task_db.begin_resize(session, row, NEW, {}) is not None
    return server


def state(server):
    with reader() as session:
        row = session.get(I, server)
        held = session.execute(select(models.Allocation.instance_uuid,
                                      models.Allocation.memory_mb)
                               .where(models.Allocation.instance_uuid.in_(
                                   select(M.uuid).where(M.instance_uuid == server)
                                   .union(select(I.uuid).where(I.uuid == server))))).all()
        migration = session.scalars(select(M.status).where(M.instance_uuid == server)).first()
        return row, sorted(m for _, m in held), migration


def age(server, seconds):
    with transaction() as session:
        when = models.utcnow() - datetime.timedelta(seconds=seconds)
        session.execute(update(I).where(I.uuid == server).values(task_updated_at=when))
        session.execute(update(M).where(M.instance_uuid == server).values(updated_at=when))


def test_a_resize_past_its_deadline_is_undone_with_a_fault(quiet):
    server = resizing(f"rz-late-{uuid.uuid4().hex[:6]}")
    row, held, _ = state(server)
    assert (row.task_state, held) == (states.RESIZE_MIGRATING, [512, 2048])
    age(server, quiet.conductor.action_timeout + 5)
    assert reconciler.reconcile_once()[1] == 1
    row, held, migration = state(server)
    assert (row.vm_state, row.task_state, row.flavor_id, row.memory_mb) == (
        states.ACTIVE, None, "1", 512)
    assert (held, migration) == ([512], "error")
    with reader() as session:
        faults = session.scalars(select(models.InstanceFault.message).where(
            models.InstanceFault.instance_uuid == server)).all()
    assert any("resize_migrating timed out" in f for f in faults)
    assert accounting_errors() == []


def finished(server, host):
    with transaction() as session:
        assert task_db.step_done(session, server, host, states.RESIZE_MIGRATING,
                                 states.RUNNING) is None
    row, held, migration = state(server)
    assert (row.vm_state, row.flavor_id, held, migration) == (
        states.RESIZED, "2", [512, 2048], "finished")


def test_a_resize_left_unconfirmed_is_confirmed_after_the_window(quiet):
    host = f"rz-window-{uuid.uuid4().hex[:6]}"
    server = resizing(host)
    finished(server, host)
    taken(topology.compute_topic(host))
    quiet.set_override("resize_confirm_window", 60, group="compute")
    try:
        assert reconciler.confirm_resizes(models.utcnow()) == 0      # not yet
        age(server, 61)
        assert reconciler.confirm_resizes(models.utcnow()) == 1
        assert reconciler.confirm_resizes(models.utcnow()) == 0      # started once
    finally:
        quiet.clear_override("resize_confirm_window", group="compute")
    assert state(server)[0].task_state == states.RESIZE_CONFIRMING
    assert taken(topology.compute_topic(host)) == ["confirm_resize"]
    # The host confirms: the old flavor's claim goes.
    conductor_manager.ConductorManager().instance_action_done(
        {}, server, host, states.RESIZE_CONFIRMING, states.ACTIVE, states.RUNNING)
    row, held, migration = state(server)
    assert (row.vm_state, row.task_state, held, migration) == (
        states.ACTIVE, None, [2048], "confirmed")
    assert accounting_errors() == []


def test_a_window_of_zero_never_confirms(quiet):
    host = f"rz-never-{uuid.uuid4().hex[:6]}"
    server = resizing(host)
    finished(server, host)
    age(server, 10 ** 6)
    assert reconciler.confirm_resizes(models.utcnow()) == 0
    assert state(server)[0].vm_state == states.RESIZED


def test_the_old_claim_of_a_server_deleted_in_verify_resize_is_released(quiet):
    host = f"rz-gone-{uuid.uuid4().hex[:6]}"
    server = resizing(host)
    finished(server, host)
    with transaction() as session:
        assert instances.mark_deleted(session, server)
    assert state(server)[1] == [512]            # the migration's, until the next pass
    reconciler.reconcile_once()
    assert state(server)[1:] == ([], "deleted")
    assert accounting_errors() == []
