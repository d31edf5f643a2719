"""The reconciler against PostgreSQL and RabbitMQ (in-process, no workers on
this vhost): stalled tasks are re-sent, and tasks past their deadline end
with a fault, so nothing stays in a task forever."""
import datetime
import uuid

import pytest
from sqlalchemy import select, update

from nova_lite.conductor import reconciler
from nova_lite.db import allocations, models, services
from nova_lite.db.session import reader, transaction
from nova_lite.objects import states
from nova_lite.rpc import topology, transport

I = models.Instance


def make_instance(vm_state, task_state, host=None, age=0):
    instance_uuid = str(uuid.uuid4())
    with transaction() as session:
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
    backoff = reconciler.Backoff()
    now = models.utcnow() - past
    assert reconciler.reconcile_once(now, backoff) == (1, 0)
    assert reconciler.reconcile_once(now + after, backoff) == (0, 0)
    assert reconciler.reconcile_once(now + 2 * after + datetime.timedelta(seconds=1),
                                     backoff) == (1, 0)
    assert reconciler.reconcile_once(now + 4 * after, backoff) == (0, 0)
    assert reconciler.reconcile_once(now + 6 * after + datetime.timedelta(seconds=2),
                                     backoff) == (1, 0)
    assert queued("scheduler") == before + 3
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
