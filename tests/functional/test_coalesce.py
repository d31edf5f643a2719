"""Coalesced casts against a real RabbitMQ: reports added by many handler
threads arrive once each, in far fewer messages, and each handler's input is
acked only after the message carrying its report is confirmed."""
import threading
import uuid

import pytest

from nova_lite.rpc import casts, coalesce, publisher, server
from tests.fixtures.waiting import until


@pytest.fixture
def topics(configured):
    tag = uuid.uuid4().hex[:8]
    return f"test-in-{tag}", f"test-out-{tag}"


def test_reports_of_many_handlers_leave_together_and_arrive_once(topics):
    inbox, outbox = topics
    received, messages = [], []
    lock = threading.Lock()

    def batch(context, reports):
        with lock:
            messages.append(len(reports))
            received.extend(reports)

    gather = coalesce.Coalescer(lambda items: casts.Message(outbox, "batch",
                                                            {"reports": items}),
                                interval=0.05, max_items=50)

    def work(context, n):
        gather.add({"n": n})       # tracked: the server acks once it is confirmed

    consumer = server.RPCServer(outbox, {"batch": batch}, concurrency=2)
    worker = server.RPCServer(inbox, {"work": work}, concurrency=32)
    threads = [threading.Thread(target=s.run, daemon=True) for s in (consumer, worker)]
    for t in threads:
        t.start()
    try:
        for n in range(300):
            publisher.cast(inbox, "work", {"n": n})
        assert until(lambda: len(received) == 300, timeout=30)
        assert sorted(r["n"] for r in received) == list(range(300))
        assert max(messages) <= 50
        assert len(messages) < 300 / 4, f"reports were not coalesced: {messages}"
        assert gather.items_sent == 300 and gather.sent == len(messages)
        assert until(lambda: worker.handled == 300, timeout=10), \
            "every input acked once its report was confirmed"
    finally:
        gather.stop()
        for s in (consumer, worker):
            s.stop()
        for t in threads:
            t.join(10)


def test_a_share_fails_when_its_message_cannot_be_sent(configured):
    def broken(items):
        raise ValueError("cannot build the message")

    gather = coalesce.Coalescer(broken, interval=0.01)
    try:
        with publisher.deferred_confirms() as made:
            gather.add({"n": 1})
        assert len(made.futures) == 1
        with pytest.raises(ValueError):
            made.futures[0].result(timeout=5)
    finally:
        gather.stop()
