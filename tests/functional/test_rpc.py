"""The bus against a real RabbitMQ: casts arrive, poison goes to the .dlq with
its reason and the worker keeps going, failing handlers give up after the
delivery limit, and queue names never change."""
import threading
import time
import uuid

import pytest
from kombu import Producer

from nova_lite.rpc import envelope, publisher, server, topology, transport
from tests.fixtures.bus import dead_letters
from tests.fixtures.waiting import until, wait_for


@pytest.fixture
def topic(configured):
    return f"test{uuid.uuid4().hex[:8]}"


class Recorder:
    def __init__(self):
        self.calls = []
        self.event = threading.Event()
        self.failures = 0

    def ok(self, context, value):
        self.calls.append(value)
        self.event.set()

    def always_fails(self, context):
        self.failures += 1
        raise RuntimeError("handler is broken")


def run_server(topic, recorder):
    srv = server.RPCServer(topic, {"ok": recorder.ok, "always_fails": recorder.always_fails},
                           concurrency=4)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    return srv, thread


def publish_raw(topic, body):
    with transport.connect() as conn:
        channel = conn.channel()
        topology.declare(channel, topic)
        Producer(channel).publish(body, exchange=topology.exchange(), routing_key=topic,
                                  content_type="application/json", content_encoding="utf-8")


def test_casts_are_handled(topic):
    recorder = Recorder()
    srv, thread = run_server(topic, recorder)
    try:
        for i in range(50):
            publisher.cast(topic, "ok", {"value": i})
        assert until(lambda: len(recorder.calls) == 50)
        assert sorted(recorder.calls) == list(range(50))
    finally:
        srv.stop()
        thread.join(10)


@pytest.mark.parametrize("body, reason", [
    (b"{this is not json", "not JSON"),
    (envelope.encode({"version": 7, "method": "ok", "args": {}}), "unsupported envelope"),
    (envelope.encode(envelope.build("no_such_method")), "unknown method 'no_such_method'"),
    (envelope.encode(envelope.build("ok", {"wrong": 1})), "bad arguments for ok"),
])
def test_poison_goes_to_the_dlq_with_its_reason_and_the_next_message_is_handled(
        topic, body, reason):
    recorder = Recorder()
    srv, thread = run_server(topic, recorder)
    try:
        publish_raw(topic, body)
        publisher.cast(topic, "ok", {"value": "after"})
        assert until(lambda: recorder.calls == ["after"])
        assert until(lambda: srv.dead_lettered == 1)
        parked = dead_letters(topic)
        assert len(parked) == 1
        assert parked[0][0] == body
        assert reason in parked[0][1]
    finally:
        srv.stop()
        thread.join(10)


def test_a_handler_that_keeps_failing_is_parked_after_the_delivery_limit(topic, configured):
    recorder = Recorder()
    srv, thread = run_server(topic, recorder)
    try:
        publisher.cast(topic, "always_fails", {})
        assert until(lambda: srv.dead_lettered == 1)
        assert recorder.failures == configured.rpc.delivery_limit
        parked = dead_letters(topic)
        assert "handler is broken" in parked[0][1]
        publisher.cast(topic, "ok", {"value": 1})
        assert until(lambda: recorder.calls == [1])
    finally:
        srv.stop()
        thread.join(10)


def test_queue_names_stay_fixed(topic, rabbit):
    recorder = Recorder()
    srv, thread = run_server(topic, recorder)
    try:
        publisher.cast(topic, "ok", {"value": 0})
        assert until(lambda: recorder.calls == [0])
        before = rabbit.queue_names("inproc")
        for i in range(200):
            publisher.cast(topic, "ok", {"value": i})
        assert until(lambda: len(recorder.calls) == 201)
        assert rabbit.queue_names("inproc") == before
        assert topic in before and topic + ".dlq" in before
    finally:
        srv.stop()
        thread.join(10)


def test_publishing_to_a_topic_nothing_is_bound_to_raises():
    pub = publisher.Publisher()
    try:
        with pytest.raises(publisher.Unroutable):
            pub.publish_raw(f"unbound{uuid.uuid4().hex[:6]}", b"{}", declare=False)
    finally:
        pub.close()


def test_calls_get_replies_matched_by_correlation_id(topic):
    from nova_lite.rpc import call
    srv = server.RPCServer(topic, {"echo": lambda context, x: x}, concurrency=4)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        import concurrent.futures
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda i: call.call(topic, "echo", {"x": i}, timeout=20),
                                    range(200)))
        assert results == list(range(200))
    finally:
        srv.stop()
        thread.join(10)


def test_a_call_nobody_answers_times_out_clearly(topic):
    from nova_lite.rpc import call
    started = time.monotonic()
    with pytest.raises(call.CallTimeout, match=f"no reply to echo from {topic} within 1"):
        call.call(topic, "echo", {"x": 1}, timeout=1)
    assert time.monotonic() - started < 5


def test_a_failing_call_returns_the_error_to_the_caller(topic):
    from nova_lite.rpc import call

    def broken(context):
        raise ValueError("no console for you")

    srv = server.RPCServer(topic, {"broken": broken}, concurrency=2)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        with pytest.raises(call.RemoteError, match="ValueError: no console for you"):
            call.call(topic, "broken", {}, timeout=20)
        assert srv.dead_lettered == 0
    finally:
        srv.stop()
        thread.join(10)


def test_with_no_broker_publishes_fail_in_time_and_are_not_sent_later(configured):
    from tests.fixtures.ports import free_port
    dead = f"rabbit://guest:guest@127.0.0.1:{free_port()}/"
    saved = (configured.rpc.transport_url, configured.rpc.publish_timeout)
    configured.set_override("transport_url", dead, group="rpc")
    configured.set_override("publish_timeout", 1.0, group="rpc")
    pub = publisher.Publisher()
    try:
        futures = [pub.submit("anything", b"{}") for _ in range(50)]
        started = time.monotonic()
        with pytest.raises(publisher.PublishError):
            pub.publish_raw("anything", b"{}")
        assert time.monotonic() - started < 10
        for future in futures:
            with pytest.raises(publisher.PublishError):
                future.result(timeout=10)
        assert pub.published == 0
        assert not pub._requests and not pub._retry
    finally:
        pub.close()
        configured.set_override("transport_url", saved[0], group="rpc")
        configured.set_override("publish_timeout", saved[1], group="rpc")


# -- retries in place (rpc/retry.py) ---------------------------------------------------
@pytest.fixture
def rpc_options(configured):
    """Set [rpc] options for one test (a fresh topic's queue takes them)."""
    saved = {}

    def override(**options):
        for name, value in options.items():
            saved.setdefault(name, getattr(configured.rpc, name))
            configured.set_override(name, value, group="rpc")
    yield override
    for name, value in saved.items():
        configured.set_override(name, value, group="rpc")


class Flaky:
    """A handler that fails ``failures`` times as a database that is away does
    (a refused connection), then works; it notes when each try started."""

    def __init__(self, failures):
        self.failures = failures
        self.tries = []
        self.handled = []

    def __call__(self, context, value):
        self.tries.append(time.monotonic())
        if len(self.tries) <= self.failures:
            raise ConnectionRefusedError("connection to the database refused")
        self.handled.append(value)


def test_a_handler_failing_transiently_is_retried_with_growing_gaps_then_handled(
        topic, rpc_options):
    # More failures than deliveries allowed: only retries in place save it.
    rpc_options(delivery_limit=2, retry_window=60.0)
    flaky = Flaky(failures=3)
    srv = server.RPCServer(topic, {"flaky": flaky}, concurrency=2)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        publisher.cast(topic, "flaky", {"value": 7})
        wait_for(lambda: list(flaky.handled), lambda handled: handled == [7])
        assert srv.dead_lettered == 0 and srv.retried == 3
        gaps = [b - a for a, b in zip(flaky.tries, flaky.tries[1:])]
        assert gaps == sorted(gaps) and len(set(gaps)) == 3, gaps
        assert dead_letters(topic) == []
    finally:
        srv.stop()
        thread.join(10)


def test_a_handler_that_always_fails_transiently_still_reaches_the_dlq(
        topic, rpc_options):
    rpc_options(delivery_limit=2, retry_window=1.0)
    flaky = Flaky(failures=10 ** 6)
    srv = server.RPCServer(topic, {"flaky": flaky}, concurrency=2)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        publisher.cast(topic, "flaky", {"value": 1})
        wait_for(lambda: srv.dead_lettered, lambda n: n == 1)
        # Tried more often than it was delivered: each delivery was retried in place.
        assert len(flaky.tries) > 2 and srv.retried == len(flaky.tries) - 2
        parked = dead_letters(topic)
        assert len(parked) == 1
        assert "gave up after 2 deliveries" in parked[0][1]
        assert "ConnectionRefusedError" in parked[0][1]
    finally:
        srv.stop()
        thread.join(10)


def test_stop_gives_waiting_retries_back_to_the_queue(topic, rpc_options):
    rpc_options(retry_window=600.0)
    flaky = Flaky(failures=10 ** 6)
    srv = server.RPCServer(topic, {"flaky": flaky}, concurrency=2)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    publisher.cast(topic, "flaky", {"value": 1})
    wait_for(lambda: srv.retried, lambda n: n >= 2)
    srv.stop()
    thread.join(30)
    assert not thread.is_alive()
    assert srv.dead_lettered == 0 and srv._inflight == 0
    # The message is back in its queue for the next worker, not parked.
    later = Flaky(failures=0)
    srv2 = server.RPCServer(topic, {"flaky": later}, concurrency=2)
    thread2 = threading.Thread(target=srv2.run, daemon=True)
    thread2.start()
    try:
        wait_for(lambda: list(later.handled), lambda handled: handled == [1])
    finally:
        srv2.stop()
        thread2.join(10)


def test_a_superseded_report_that_keeps_failing_is_dropped_not_parked(topic, rpc_options):
    rpc_options(delivery_limit=2)
    failures = []

    def power_states(context, host, observed):
        failures.append(host)
        raise RuntimeError("power state bookkeeping is broken")

    srv = server.RPCServer(topic, {"power_states": power_states}, concurrency=2)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        publisher.cast(topic, "power_states", {"host": "h1", "observed": {}})
        wait_for(lambda: srv.dropped, lambda n: n == 1)
        assert len(failures) == 2 and srv.dead_lettered == 0
        assert dead_letters(topic) == []
    finally:
        srv.stop()
        thread.join(10)


@pytest.fixture
def own_postgres():
    """A PostgreSQL of this test's own, so it can be shut down and started
    again without touching the session's."""
    from tests.fixtures.postgres import PostgresServer
    pg = PostgresServer().start()
    yield pg
    pg.stop()


def test_a_postgres_restart_dead_letters_nothing(topic, own_postgres):
    import sqlalchemy
    engine = sqlalchemy.create_engine(own_postgres.url(), future=True)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE handled (n integer PRIMARY KEY)")

    def record(context, n):
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO handled VALUES (%(n)s) ON CONFLICT DO NOTHING", {"n": n})

    def rows():
        with engine.connect() as conn:
            return sorted(r[0] for r in conn.exec_driver_sql("SELECT n FROM handled"))

    srv = server.RPCServer(topic, {"record": record}, concurrency=4)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        for n in range(5):
            publisher.cast(topic, "record", {"n": n})
        wait_for(rows, lambda found: found == list(range(5)))
        with own_postgres.down():
            for n in range(5, 25):
                publisher.cast(topic, "record", {"n": n})
            # Down long enough for every handler thread to fail a few times
            # (tries at +0.5, +1.5, +3.5 s of each delivery's first failure).
            wait_for(lambda: srv.retried, lambda n: n >= 12)
        wait_for(rows, lambda found: found == list(range(25)), timeout=120)
        assert srv.dead_lettered == 0
        assert dead_letters(topic) == []
    finally:
        srv.stop()
        thread.join(10)
        engine.dispose()
