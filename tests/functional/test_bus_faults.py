"""The bus loses nothing under broker faults: a real 3-node RabbitMQ cluster
(tests.fixtures.rabbit_cluster), real processes, no mocks.

- one broker is SIGKILLed while 10,000 casts flow: every confirmed cast is
  handled, each id's effect is applied once, the consumer resumes by itself,
  and publishing works again within 20 s (two brokers are still up)
- 1,000 RPC calls leave the cluster's queue list exactly as it was
- a poison message and a handler that keeps failing end in ``<queue>.dlq`` on
  a quorum queue of the cluster, and the next good message is handled
- every broker down for longer than service_down_time (so every compute's
  heartbeat is stale when they return) while servers are created through the
  API (the services as real processes): every POST answers 202, and once the
  brokers are back every server becomes ACTIVE, and can be deleted

Each test prints what it measured (run with ``-s`` to see it); with
NL_BUS_FAULTS_JSON=path the figures are also written there as JSON.
See doc/messaging-faults.md.
"""
import collections
import concurrent.futures
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import uuid

import pytest
from kombu import Producer

from nova_lite.conf import CONF
from nova_lite.rpc import call as call_mod
from nova_lite.rpc import envelope, publisher, server, topology, transport
from tests.fixtures.bus import dead_letters
from tests.fixtures.cloud import CloudClient, upload_image
from tests.fixtures.credentials import ADMIN_PASSWORD, DEMO_PASSWORD, SERVICE_PASSWORD
from tests.fixtures.waiting import until

pytestmark = pytest.mark.slow

FIGURES = {}


def report(test, **figures):
    FIGURES.setdefault(test, {}).update(figures)
    print(f"\n[{test}]")
    for key, value in figures.items():
        print(f"  {key}: {value}")


# -- fixtures ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def cluster():
    from tests.fixtures.rabbitmq import SERVER
    if not os.path.exists(SERVER):
        pytest.fail(f"{SERVER} is missing: install the Debian package rabbitmq-server",
                    pytrace=False)
    from tests.fixtures.rabbit_cluster import RabbitCluster
    started = time.monotonic()
    running = RabbitCluster(size=3).start()
    report("cluster", nodes=[n.nodename for n in running.nodes],
           start_seconds=round(time.monotonic() - started, 1))
    try:
        yield running
    finally:
        running.stop()
        path = os.environ.get("NL_BUS_FAULTS_JSON")
        if path:
            with open(path, "w") as f:
                json.dump(FIGURES, f, indent=2, default=str)


@pytest.fixture
def on_cluster(configured, cluster, monkeypatch):
    """This process's bus (publisher, call client) pointed at the cluster for
    one test; the session's broker again afterwards."""
    previous = CONF.rpc.transport_url
    publisher.reset_publisher()
    monkeypatch.setattr(call_mod, "_client", None)
    CONF.set_override("transport_url", cluster.transport_url, group="rpc")
    try:
        cluster.wait_healthy(120)
        yield cluster
    finally:
        client = call_mod._client
        if client is not None:
            client.close()
        publisher.reset_publisher()
        CONF.set_override("transport_url", previous, group="rpc")


class LogCollector(logging.Handler):
    """(monotonic time, message) of every nova_lite.rpc record at INFO and up."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.records = []

    def emit(self, record):
        self.records.append((time.monotonic(), record.getMessage()))

    def matching(self, pattern, after=0.0):
        return [(t, m) for t, m in list(self.records) if t > after and re.search(pattern, m)]


@pytest.fixture
def rpc_log():
    logger = logging.getLogger("nova_lite.rpc")
    collector = LogCollector()
    old_level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(collector)
    try:
        yield collector
    finally:
        logger.removeHandler(collector)
        logger.setLevel(old_level)


def wait_until(predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def start_server(topic, endpoints, concurrency=16):
    srv = server.RPCServer(topic, endpoints, concurrency=concurrency)
    thread = threading.Thread(target=srv.run, name=f"test-server-{topic}", daemon=True)
    thread.start()
    return srv, thread


def stop_server(srv, thread):
    srv.stop()
    thread.join(40)
    assert not thread.is_alive(), "the RPC server did not stop within 40s"


def dump_stacks(name):
    """Every thread's stack, to a file (for a report on a stall)."""
    import faulthandler
    path = os.path.join(tempfile.gettempdir(), f"nl-bus-faults-{name}.stacks.txt")
    with open(path, "w") as f:
        faulthandler.dump_traceback(file=f, all_threads=True)
    return path


def port_of(uri):
    match = re.search(r"127\.0\.0\.1:(\d+)", uri)
    return int(match.group(1)) if match else None


# -- 1. kill -9 one broker while 10,000 casts flow -----------------------------------
N_CASTS = 10_000
MAX_OUTSTANDING = 1_000        # unconfirmed casts the test keeps submitted at once
KILL_AFTER_CONFIRMED = 3_000
SETTLE_WITHIN = 20             # s: every future is settled by its deadline (5 s) + this
RETRY_FOR = 75                 # s after the kill during which the test re-sends failures
PUBLISHER_RECOVERY = 20        # s: publishing works again this soon after one broker dies


class IdempotentRecorder:
    """The handler: applies each id once, counts every delivery."""

    def __init__(self):
        self.lock = threading.Lock()
        self.applied = {}                       # id -> monotonic time applied
        self.deliveries = collections.Counter()  # id -> times delivered
        self.delivered_at = []

    def record(self, context, id):
        now = time.monotonic()
        with self.lock:
            self.deliveries[id] += 1
            self.delivered_at.append(now)
            if id not in self.applied:          # the idempotent effect
                self.applied[id] = now

    @property
    def redeliveries(self):
        with self.lock:
            return sum(n - 1 for n in self.deliveries.values())



def settled(futures, timeout):
    """Wait until every publish confirm handle is done (True) or ``timeout`` passes."""
    return until(lambda: all(f.done() for f in futures), timeout=timeout, interval=0.01)


def test_kill9_one_broker_while_10000_casts_flow(on_cluster, rpc_log):
    cluster = on_cluster
    topic = f"faults{uuid.uuid4().hex[:8]}"
    recorder = IdempotentRecorder()
    srv, thread = start_server(topic, {"record": recorder.record})
    victim = None
    sampling = threading.Event()
    try:
        # Warm up: the consumer consumes and the publisher is connected.
        publisher.cast(topic, "record", {"id": -1})
        assert wait_until(lambda: -1 in recorder.applied, 30), "warm-up cast not handled"
        leader = cluster.leader_of(topic)
        victim = cluster.node_index(leader)
        pub_port = port_of(rpc_log.matching(r"^publisher connected to")[-1][1])
        con_port = port_of(rpc_log.matching(rf"^consuming {topic} on")[-1][1])
        victim_port = cluster.nodes[victim].port
        roles = [name for name, port in (("publisher", pub_port), ("consumer", con_port))
                 if port == victim_port] + ["quorum leader"]

        pub = publisher.get_publisher()
        futures = {}
        confirmed = set()
        confirmed_lock = threading.Lock()
        kill = {}

        confirm_times = []

        def on_done(i):
            def callback(future):
                if future.exception() is None:
                    with confirmed_lock:
                        confirmed.add(i)
                        confirm_times.append(time.monotonic())
            return callback

        def killer():
            if wait_until(lambda: len(confirmed) >= KILL_AFTER_CONFIRMED, 120, 0.01):
                kill["confirmed_before"] = len(confirmed)
                kill["submitted_before"] = len(futures)
                kill["handled_before"] = len(recorder.applied)
                kill["t"] = time.monotonic()
                kill["pid"] = cluster.kill9(victim)

        killer_thread = threading.Thread(target=killer, daemon=True)
        killer_thread.start()
        timeline = []
        stalled = {}

        def sample():
            t0 = time.monotonic()
            while not sampling.wait(0.5):
                if ("t" in kill and "path" not in stalled
                        and time.monotonic() - kill["t"] > 20
                        and len(recorder.applied) < N_CASTS + 1
                        and recorder.delivered_at[-1] < time.monotonic() - 10):
                    stalled["path"] = dump_stacks(f"{topic}-stalled")
                timeline.append((round(time.monotonic() - t0, 1), len(futures),
                                 len(confirmed), sum(1 for f in list(futures.values())
                                                     if f.done() and f.exception()),
                                 len(recorder.applied), recorder.redeliveries))
                if os.environ.get("NL_BUS_FAULTS_DEBUG"):
                    print("t={} submitted={} confirmed={} failed={} handled={} "
                          "redelivered={}".format(*timeline[-1]), flush=True)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.monotonic()
        window = collections.deque()
        stuck = set()            # futures the publisher never settled (a bug)
        for i in range(N_CASTS):
            if len(window) >= MAX_OUTSTANDING:
                oldest = window.popleft()
                if not settled([futures[oldest]], SETTLE_WITHIN):
                    stuck.add(oldest)
            future = pub.submit_envelope(topic, envelope.build("record", {"id": i}))
            future.add_done_callback(on_done(i))
            futures[i] = future
            window.append(i)
        settled([f for i, f in futures.items() if i not in stuck], SETTLE_WITHIN)
        stuck |= {i for i, f in futures.items() if not f.done()}
        publish_seconds = time.monotonic() - started
        killer_thread.join(5)
        assert "t" in kill, "the broker was never killed (too few confirms?)"
        assert kill["submitted_before"] < N_CASTS, "the kill came after the last submit"

        failed = {i: repr(f.exception()) for i, f in futures.items()
                  if f.done() and f.exception() is not None}
        failure_kinds = collections.Counter(
            re.sub(r"'[^']*'|\d+(\.\d+)?", "_", r) for r in failed.values())
        # Retry what failed or never settled (it may still have been
        # delivered: the handler is idempotent), pipelined, in rounds, until
        # RETRY_FOR seconds after the kill.
        retried_ok, retry_errors, retry_rounds = 0, [], 0
        todo = sorted(set(failed) | stuck)
        while todo and time.monotonic() < kill["t"] + RETRY_FOR:
            retry_rounds += 1
            retry = {}
            for i in todo:
                future = pub.submit_envelope(topic, envelope.build("record", {"id": i}))
                future.add_done_callback(on_done(i))
                retry[i] = future
            settled(list(retry.values()), SETTLE_WITHIN)
            todo = [i for i, f in retry.items() if not f.done() or f.exception() is not None]
            retried_ok += len(retry) - len(todo)
            retry_errors += [repr(retry[i].exception()) if retry[i].done() else "unsettled"
                             for i in todo[:1]]
            if todo:
                time.sleep(1)
        first_confirm_after_kill = min((t for t in confirm_times if t > kill["t"] + 0.5),
                                       default=None)
        publisher_outage = (round(first_confirm_after_kill - kill["t"], 1)
                            if first_confirm_after_kill else None)

        expected = set(range(N_CASTS))
        wait_until(lambda: expected <= set(recorder.applied), 10 if todo else 60, 0.2)
        time.sleep(1.0)                 # let late redeliveries show up in the counts
        applied = set(recorder.applied) - {-1}
        lost_confirmed = sorted((confirmed & expected) - applied)
        lost_any = sorted(expected - applied)

        # The consumer came back by itself on another broker.
        reconnects = rpc_log.matching(rf"^consuming {topic} on", after=kill["t"])
        lost_conn = rpc_log.matching(rf"^consumer of {topic} lost its connection",
                                     after=kill["t"])
        pub_lost = rpc_log.matching(r"^publisher lost its connection", after=kill["t"])
        pub_back = rpc_log.matching(r"^publisher connected to", after=kill["t"])
        resumed_at = None
        if reconnects:
            after = [t for t in list(recorder.delivered_at) if t > reconnects[0][0]]
            resumed_at = min(after) if after else None
        resent = [int(m.group(1)) for m in (re.search(r"; (\d+) unconfirmed", msg)
                                            for _, msg in pub_lost) if m]
        queues = {q["name"]: q.get("messages") for q in cluster.queue_info()
                  if q["name"] in (topic, topic + topology.DLQ_SUFFIX)}
        report("kill9_one_broker_while_10000_casts_flow",
               killed_node=cluster.nodes[victim].nodename, killed_pid=kill["pid"],
               killed_node_was=roles,
               new_leader=cluster.leader_of(topic),
               kill_after_confirmed=kill["confirmed_before"],
               kill_after_submitted=kill["submitted_before"],
               kill_after_handled=kill["handled_before"],
               published=N_CASTS, confirmed=len(confirmed & expected),
               failed_futures=len(failed), failure_kinds=dict(failure_kinds),
               never_settled_futures=sorted(stuck)[:20], never_settled=len(stuck),
               retry_rounds=retry_rounds, retried_and_confirmed=retried_ok,
               retry_errors=retry_errors[:3], still_failing_after_retries=len(todo),
               publisher_outage_s=publisher_outage,
               handled_unique=len(applied), deliveries=sum(recorder.deliveries.values()),
               redeliveries=recorder.redeliveries,
               ids_delivered_more_than_once=sum(
                   1 for n in recorder.deliveries.values() if n > 1),
               lost_confirmed=len(lost_confirmed), lost_any=len(lost_any),
               publish_seconds=round(publish_seconds, 1),
               publisher_resent_after_kill=resent,
               publisher_reconnected_s=(round(pub_back[0][0] - kill["t"], 2)
                                        if pub_back else None),
               consumer_lost_connection_logs=len(lost_conn),
               consumer_reconnected_s=(round(reconnects[0][0] - kill["t"], 2)
                                       if reconnects else None),
               consumer_resumed_handling_s=(round(resumed_at - kill["t"], 2)
                                            if resumed_at else None),
               queue_messages_left=queues,
               timeline_s_submitted_confirmed_failed_handled_redelivered=timeline[::4],
               stacks_when_stalled=stalled.get("path"),
               rpc_log_after_kill=[f"+{t - kill['t']:.1f}s {m[:110]}"
                                   for t, m in rpc_log.matching(".", after=kill["t"] - 0.5)
                                   ][:12])

        assert not lost_confirmed, (f"{len(lost_confirmed)} confirmed casts were never "
                                    f"handled, e.g. {lost_confirmed[:10]}")
        assert reconnects, "the consumer never reconnected after the kill"
        assert resumed_at is not None, "the consumer reconnected but handled nothing more"
        assert publisher_outage is not None and publisher_outage <= PUBLISHER_RECOVERY, (
            f"with 2 of 3 brokers up, the publisher confirmed nothing for "
            f"{publisher_outage or f'more than {RETRY_FOR}'}s after the kill "
            f"(allowed: {PUBLISHER_RECOVERY}s); failures: {dict(failure_kinds)}; "
            f"retries: {retry_errors[:2]}")
        assert not stuck, (f"the publisher never settled {len(stuck)} futures (neither "
                           f"confirmed nor failed {SETTLE_WITHIN}s after their deadline), "
                           f"e.g. casts {sorted(stuck)[:10]}")
        assert not lost_any, (f"{len(lost_any)} casts never handled (even after "
                              f"retrying the failed ones), e.g. {lost_any[:10]}")
        assert applied == expected
        assert queues.get(topic + topology.DLQ_SUFFIX) == 0, f"dead-lettered: {queues}"
    finally:
        sampling.set()
        stop_server(srv, thread)
        if victim is not None and not cluster.running(victim):
            started = time.monotonic()
            cluster.start_node(victim)
            report("kill9_one_broker_while_10000_casts_flow",
                   killed_node_restart_and_rejoin_s=round(time.monotonic() - started, 1))


# -- 3. 1,000 RPC calls leave the queue list exactly as it was ---------------------
def test_1000_calls_leave_the_queue_list_as_it_was(on_cluster):
    cluster = on_cluster
    topic = f"calls{uuid.uuid4().hex[:8]}"
    srv, thread = start_server(topic, {"echo": lambda context, value: value})
    try:
        assert call_mod.call(topic, "echo", {"value": "warm"}, timeout=30) == "warm"
        before = cluster.queue_names()
        per_node_before = [n.queue_names() for n in cluster.nodes]
        started = time.monotonic()

        def caller(offset):
            for i in range(offset, 1000, 8):
                assert call_mod.call(topic, "echo", {"value": i}, timeout=30) == i
            return True

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            assert all(pool.map(caller, range(8)))
        seconds = time.monotonic() - started
        after = cluster.queue_names()
        report("1000_calls_leave_the_queue_list_as_it_was", calls=1000,
               seconds=round(seconds, 2), calls_per_second=round(1000 / seconds),
               queues_before=before, queues_after=after)
        assert after == before
        assert [n.queue_names() for n in cluster.nodes] == per_node_before
        assert topic in before and topic + topology.DLQ_SUFFIX in before
        assert not [q for q in after if q.startswith("amq.")]
    finally:
        stop_server(srv, thread)


# -- 4. poison and a failing handler end in the .dlq of a quorum queue ---------------
def test_poison_and_a_failing_handler_end_in_the_dlq_on_the_cluster(on_cluster):
    cluster = on_cluster
    topic = f"poison{uuid.uuid4().hex[:8]}"
    calls, failures = [], []

    def always_fails(context):
        failures.append(1)
        raise RuntimeError("handler is broken")

    srv, thread = start_server(topic, {"ok": lambda context, value: calls.append(value),
                                       "always_fails": always_fails}, concurrency=4)
    try:
        poison = b"{this is not json"
        with transport.connect() as conn:
            channel = conn.channel()
            topology.declare(channel, topic)
            Producer(channel).publish(poison, exchange=topology.exchange(),
                                      routing_key=topic, content_type="application/json",
                                      content_encoding="utf-8")
        publisher.cast(topic, "ok", {"value": "after-poison"})
        assert wait_until(lambda: calls == ["after-poison"], 30)
        publisher.cast(topic, "always_fails", {})
        assert wait_until(lambda: srv.dead_lettered == 2, 60), srv.dead_lettered
        publisher.cast(topic, "ok", {"value": "after-failing"})
        assert wait_until(lambda: calls == ["after-poison", "after-failing"], 30)
        info = {q["name"]: q for q in cluster.queue_info()}
        assert info[topic]["type"] == "quorum"
        parked = dead_letters(topic)
        report("poison_and_failing_handler_on_the_cluster",
               dead_lettered=srv.dead_lettered, failing_handler_deliveries=len(failures),
               reasons=[reason for _, reason in parked])
        assert len(parked) == 2
        assert parked[0][0] == poison and "not JSON" in parked[0][1]
        assert "handler is broken" in parked[1][1]
        assert len(failures) == CONF.rpc.delivery_limit
    finally:
        stop_server(srv, thread)


# -- 2. every broker down, past service_down_time, while servers are created ----------
N_SERVERS = 20
# The cloud's service_down_time, and how long the brokers stay down at least
# (then ~10 s more while they start again): longer, so that when they return
# every compute's last heartbeat is stale, the case the scheduler must not
# fail builds in (doc/messaging-faults.md, fix 4). 10 s and 15 s prove what
# 30 s and 30 s did, 15 s sooner.
SERVICE_DOWN_TIME = 10
OUTAGE_SECONDS = 15
ACTIVE_WITHIN = 180


class OwnDatabase:
    """The session's PostgreSQL server, but a database of our own: the compute
    hosts of other clouds in this session must not be scheduling candidates."""

    def __init__(self, postgres, name):
        self.postgres, self.name = postgres, name

    def url(self, dbname=None):
        return self.postgres.url(dbname or self.name)


@pytest.fixture
def fault_cloud(cluster, postgres, configured):
    """nova-lite's services as real processes on the cluster, with their own
    database and state directory; stopped (by PID) however the test ends."""
    from tests.fixtures.services import Cloud, script
    base = tempfile.mkdtemp(prefix="nl-faults-")
    db = OwnDatabase(postgres, f"nl_faults_{uuid.uuid4().hex[:8]}")
    postgres.create_database(db.name)
    cloud = Cloud(db, cluster, base, os.path.join(base, "fernet.key"),
                  compute_hosts=("c1",),
                  default_conf=f"report_interval = 1\nservice_down_time = {SERVICE_DOWN_TIME}\n")
    cloud.write_config()
    manage = [script("nova-lite-manage"), "--config-file", cloud.config_file]
    steps = [["db", "sync"], ["token-key", "create"],
             ["bootstrap", "--admin-password", ADMIN_PASSWORD,
              "--demo-password", DEMO_PASSWORD]]
    steps.append(["user", "create", "nova-lite", "--password", SERVICE_PASSWORD,
                  "--project", "service", "--role", "admin"])
    for step in steps:
        done = subprocess.run(manage + step, check=False, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, f"nova-lite-manage {step}: {done.stdout}{done.stderr}"
    from tests.fixtures import quotas
    with cloud.session() as session:
        quotas.unlimit(session)            # the tests make more servers than the default
    try:
        cluster.wait_healthy(120)
        cloud.start(timeout=90)
        cloud.admin = CloudClient(cloud.url, "admin", ADMIN_PASSWORD, "admin")
        cloud.demo = CloudClient(cloud.url, "demo", DEMO_PASSWORD, "demo")
        yield cloud
    finally:
        cloud.stop()
        if not all(cluster.running(i) for i in range(len(cluster.nodes))):
            cluster.start_all()
        shutil.rmtree(base, ignore_errors=True)


def statuses(client, ids):
    response = client.compute("GET", "/servers/detail")
    assert response.status_code == 200, response.text
    found = {s["id"]: s for s in response.json()["servers"]}
    return {i: (found[i]["status"] if i in found else "GONE") for i in ids}, found


def test_all_brokers_down_past_service_down_time_while_servers_are_created(fault_cloud,
                                                                            cluster):
    cloud = fault_cloud
    image_id = upload_image(cloud.admin, "faults-tiny", b"\0" * 65536)

    def create(name):
        return cloud.demo.compute("POST", "/servers", json={"server": {
            "name": name, "imageRef": image_id, "flavorRef": "1"}})

    # Baseline: the cloud boots a server with every broker up.
    response = create("baseline")
    assert response.status_code == 202, response.text
    baseline = response.json()["server"]["id"]
    assert wait_until(lambda: statuses(cloud.demo, [baseline])[0][baseline] == "ACTIVE",
                      60, 0.25), f"baseline server not ACTIVE: {statuses(cloud.demo, [baseline])}"

    ids, answers = [], collections.Counter()
    try:
        stop_started = time.monotonic()
        cluster.stop_all()
        down_at = time.monotonic()
        for n in range(N_SERVERS):
            response = create(f"outage-{n}")
            answers[response.status_code] += 1
            assert response.status_code == 202, (
                f"POST /servers #{n} with every broker down answered "
                f"{response.status_code}: {response.text}")
            ids.append(response.json()["server"]["id"])
        listing = cloud.demo.compute("GET", "/servers/detail")
        assert listing.status_code == 200, listing.text
        during = collections.Counter(statuses(cloud.demo, ids)[0].values())
        create_seconds = time.monotonic() - down_at
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))
        restart_started = time.monotonic()
        cluster.start_all()
        up_at = time.monotonic()
        # What this test is about: every compute's heartbeat is stale now.
        assert up_at - down_at > SERVICE_DOWN_TIME + 2, up_at - down_at

        active_at = {}
        last = {}
        deadline = up_at + ACTIVE_WITHIN
        while time.monotonic() < deadline and len(active_at) < len(ids):
            last, _ = statuses(cloud.demo, ids)
            for server_id, status in last.items():
                if status == "ACTIVE" and server_id not in active_at:
                    active_at[server_id] = time.monotonic()
            if any(s in ("ERROR", "GONE") for s in last.values()):
                time.sleep(2)           # let the others settle, for the figures
                break
            time.sleep(0.5)
        last, details = statuses(cloud.demo, ids)
        for server_id, status in last.items():
            if status == "ACTIVE" and server_id not in active_at:
                active_at[server_id] = time.monotonic()
        after = sorted(t - up_at for t in active_at.values())
        report("all_brokers_down_past_service_down_time",
               brokers_stop_seconds=round(down_at - stop_started, 1),
               servers_created_while_down=len(ids), post_answers=dict(answers),
               create_seconds=round(create_seconds, 2),
               status_while_down=dict(during),
               brokers_down_seconds=round(up_at - down_at, 1),
               brokers_restart_seconds=round(up_at - restart_started, 1),
               active=len(active_at),
               first_active_after_brokers_up_s=round(after[0], 1) if after else None,
               all_active_after_brokers_up_s=(round(after[-1], 1)
                                              if len(after) == len(ids) else None),
               final_statuses=dict(collections.Counter(last.values())))
        not_active = {i: (s, details.get(i, {}).get("fault")) for i, s in last.items()
                      if s != "ACTIVE"}
        if not_active:
            report("all_brokers_down_past_service_down_time",
                   not_active=not_active,
                   conductor_log_on_them=[line for line in cloud.log_tail("conductor", 400)
                                          .splitlines()
                                          if any(i in line for i in not_active)][:12])
        assert not not_active, (
            f"{len(not_active)} of {len(ids)} servers not ACTIVE {ACTIVE_WITHIN}s after "
            f"the brokers returned: {list(not_active.items())[:5]}\n"
            f"conductor log:\n{cloud.log_tail('conductor')}\n"
            f"scheduler log:\n{cloud.log_tail('scheduler')}\n"
            f"api log:\n{cloud.log_tail('api')}")

        # Every server can be deleted again (brokers up), and goes.
        for server_id in ids + [baseline]:
            response = cloud.demo.compute("DELETE", f"/servers/{server_id}")
            assert response.status_code == 204, response.text
        deleted_at = time.monotonic()
        assert wait_until(
            lambda: set(statuses(cloud.demo, ids + [baseline])[0].values()) == {"GONE"},
            120, 0.5), statuses(cloud.demo, ids + [baseline])[0]
        report("all_brokers_down_past_service_down_time",
               all_deleted_s=round(time.monotonic() - deleted_at, 1))
        for name, proc in cloud.procs.items():
            assert proc.poll() is None, f"{name} exited with {proc.returncode}"
    finally:
        if not all(cluster.running(i) for i in range(len(cluster.nodes))):
            cluster.start_all()
