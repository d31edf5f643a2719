"""The scaled-down flood (issue 6): 2,000 servers created by 200 concurrent
HTTP clients on 200 simulated hosts (one nova-lite-compute process), then all
deleted, through real API, conductor, scheduler and compute processes.

The servers take the real path, as ``openstack server create --network X``:
each gets a port on the flood's network (a /16 the flood makes in the demo
project) in the project's 'default' group.

It asserts correctness only, never speed: every server ACTIVE, each with its
port, address and group (SQL), no error or timeout, accounting exact by SQL
(each node's usage = its allocations = its instances' flavors, no instance
claimed twice, no address used twice, no port or address held by a deleted
server) while loaded and after, nothing left after the deletes and every
address given back.

Size: NOVA_LITE_FLOOD="servers,hosts,clients" (default "2000,200,200").

Also on the same cloud: a small concurrency sweep (--sweep) and the backend
baselines (--baseline), asserting on counts and on rates being measured,
never on how high they are; and small floods of multi-create requests
(--batch), closed loop, open loop (--rate) and swept, whose counts must be in
servers and whose other servers than each request's first are found by name
to be deleted."""
import os

import pytest

from tests.fixtures.credentials import ADMIN_PASSWORD, DEMO_PASSWORD
from tests.fixtures.tools import load_flood

SERVERS, HOSTS, CLIENTS = (int(v) for v in os.environ.get(
    "NOVA_LITE_FLOOD", "2000,200,200").split(","))


@pytest.fixture(scope="module")
def flood_cloud(configured, postgres, rabbit, state_dir):
    from tests.fixtures.services import Cloud
    cloud = Cloud(postgres, rabbit, state_dir, configured.identity.fernet_key_file,
                  sim_hosts=HOSTS, name="flood", db_name="flood", vhost="flood",
                  schedulers=2,
                  default_conf="report_interval = 5\nservice_down_time = 120\n",
                  conductor_conf="reconcile_interval = 5\nredrive_after = 120\n",
                  extra_conf="[database]\npool_size = 24\nmax_overflow = 8\n"
                             "[sim]\nspawn_time = 0.2\ndelete_time = 0.05\n"
                             "report_interval = 10\n"
                             "[rpc]\ncompute_queue_type = classic\n")
    cloud.start(timeout=120)
    yield cloud
    cloud.stop()


@pytest.mark.timeout(600)
def test_flood_creates_and_deletes_exactly(flood_cloud, rabbit, tmp_path):
    flood = load_flood()
    target = flood.Target(url=flood_cloud.url, db_url=flood_cloud.db_url,
                          amqp_url=flood_cloud.rabbit_url.replace("rabbit://", "amqp://"),
                          pids=flood_cloud.pids(), password=DEMO_PASSWORD,
                          admin_password=ADMIN_PASSWORD, hosts=HOSTS)
    report = flood.run(target, SERVERS, CLIENTS, show_progress=False,
                       json_path=str(tmp_path / "flood.json"),
                       plot_path=str(tmp_path / "flood.png"), timeout=240, sample=1.0)
    flood.print_summary(report)
    assert report["errors"] == {}
    assert report["create"]["accepted"] == SERVERS
    assert report["build"]["active"] == SERVERS, report["build"]
    assert report["build"]["error"] == 0 and report["build"]["still_building"] == 0
    assert report["accounting_when_loaded"] == {k: [] for k in flood.CHECKS}
    assert report["accounting_after"] == {k: [] for k in flood.CHECKS}
    assert report["delete"]["left"] == 0 and report["delete"]["left_allocations"] == 0
    # The real path: every server got its port and address on the network and
    # is in the default group, and every address was given back.
    net = report["network"]
    assert net["cidr"] == "10.128.0.0/16" and report["conditions"]["network"] == net["cidr"]
    assert net == {**net, "servers": SERVERS, "active": SERVERS, "with_port": SERVERS,
                   "with_address": SERVERS, "in_default_group": SERVERS,
                   "addresses": SERVERS, "complete": True}, net
    assert net["subnet_used_after_delete"] == net["subnet_used_at_start"], net
    assert (tmp_path / "flood.png").stat().st_size > 0
    # The client's own CPU per request is measured (tools/flood_http.py).
    assert report["client"]["create_cpu_ms_per_server"] > 0
    assert report["client"]["delete_cpu_ms_per_server"] > 0
    # Every simulated host ran in the one compute process and took a share.
    assert len([p for p in report["processes"] if p.startswith("compute")]) == 1


def test_sweep_steps_parse():
    flood = load_flood()
    assert flood.parse_steps("100, 300:2000,", 50) == [(100, 50), (300, 2000)]
    with pytest.raises(ValueError):
        flood.parse_steps("0", 10)


def test_checkpoint_writes_a_partial_report(tmp_path):
    """A long run's create-phase report reaches --json before the deletes."""
    import json
    flood = load_flood()
    path = tmp_path / "flood.json"
    assert flood._writer(None, "create phase") is None
    flood._writer(str(path), "create phase")({"create": {"accepted": 7}})
    assert json.loads(path.read_text()) == {"create": {"accepted": 7},
                                            "partial": "create phase"}
    flood._writer(str(path), "create phase", baseline={"postgres": 1})({"create": {}})
    assert json.loads(path.read_text())["baseline"] == {"postgres": 1}


def test_the_clients_token_is_renewed_before_expiry_and_after_a_401(live_api):
    """A run longer than a token's life keeps going (the first million-server
    run failed every request after its first hour with 401)."""
    import asyncio
    import time
    load_flood()                # puts tools/ on sys.path
    import flood_http

    async def scenario():
        auth = flood_http.Auth(live_api.url, "demo", DEMO_PASSWORD, "demo")
        assert 0 < auth._renew_at - time.monotonic() < 3600
        http = flood_http.session(live_api.url, auth, 2, 30)
        try:
            async with http.get(flood_http.SERVERS) as response:
                assert response.status == 200
            first = auth.token
            auth._renew_at = time.monotonic() - 1          # due: renewed before sending
            async with http.get(flood_http.SERVERS) as response:
                assert response.status == 200
            assert auth.renewals == 1 and auth.token != first
            auth.token = "not-a-token"                      # the API answers 401 once
            async with http.get(flood_http.SERVERS) as response:
                assert response.status == 200
            assert auth.renewals == 2
            # Two clients meeting the same stale token renew it once.
            auth.token = "stale"
            await asyncio.gather(auth.renew("stale"), auth.renew("stale"))
            assert auth.renewals == 3
        finally:
            await http.close()
    asyncio.run(scenario())


@pytest.mark.timeout(300)
def test_flood_sweep_and_baselines(flood_cloud, tmp_path):
    """Two sweep steps (5 clients then 20) after one second of each baseline,
    against the cloud's own PostgreSQL and RabbitMQ."""
    import json

    from kombu import Connection
    from sqlalchemy import create_engine, text
    flood = load_flood()
    amqp_url = flood_cloud.rabbit_url.replace("rabbit://", "amqp://")
    target = flood.Target(url=flood_cloud.url, db_url=flood_cloud.db_url, amqp_url=amqp_url,
                          pids=flood_cloud.pids(), password=DEMO_PASSWORD,
                          admin_password=ADMIN_PASSWORD, hosts=HOSTS,
                          config_file=flood_cloud.config_file)
    steps = [(5, 20), (20, 40)]
    report = flood.run(target, 0, 0, show_progress=False, sweep=steps, baseline=1.0,
                       json_path=str(tmp_path / "sweep.json"),
                       plot_path=str(tmp_path / "sweep.png"), timeout=120, sample=0.5)
    flood.print_report(report)
    assert report["errors"] == {}
    assert [(s["clients"], s["servers"]) for s in report["sweep"]] == steps
    for step, (clients, servers) in zip(report["sweep"], steps):
        assert step["sent"] == step["accepted"] == step["active"] == servers, step
        assert step["concurrency"] == clients
        assert step["errors"] == 0 and step["timeouts"] == 0 and step["still_building"] == 0
        assert step["accept_rate"] > 0 and step["accept_rate_peak_5s"] > 0
        assert 0 < step["latency_ms"]["p50"] <= step["latency_ms"]["p99"]
        assert step["accounting_exact"]
        assert step["network"]["with_address"] == step["network"]["in_default_group"] \
            == servers, step["network"]
        assert step["delete"] == {**step["delete"], "sent": servers, "left": 0}
    assert report["exact"]

    pg = report["baseline"]["postgres"]
    assert set(pg["commits_per_s"]) == {"1", "8"}
    assert all(rate > 0 for rate in pg["commits_per_s"].values())
    assert all(n > 0 for n in pg["commits"].values())
    mq = report["baseline"]["rabbitmq"]
    assert mq["queue_type"] == "quorum"          # the cloud's shared queues' type
    assert mq["published"] > 0 and mq["nacked"] == 0 and mq["publish_confirmed_per_s"] > 0
    assert 0 < mq["consumed"] <= mq["published"] and mq["consume_ack_per_s"] > 0
    assert report["baseline_comparison"]["accept_rate"] == max(
        s["accept_rate"] for s in report["sweep"])

    # The scratch table and queue are gone.
    engine = create_engine(flood_cloud.db_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM pg_tables "
                                 "WHERE tablename LIKE 'flood_baseline_%'")).scalar() == 0
    engine.dispose()
    with Connection(amqp_url, connect_timeout=5) as conn:
        with pytest.raises(Exception, match="(?i)not.found|404"):
            conn.default_channel.queue_declare(mq["queue"], passive=True)

    written = json.loads((tmp_path / "sweep.json").read_text())
    assert [s["clients"] for s in written["sweep"]] == [5, 20]
    assert written["baseline"]["postgres"]["commits_per_s"] == pg["commits_per_s"]
    assert (tmp_path / "sweep-sweep.png").stat().st_size > 0
    assert (tmp_path / "sweep.png").stat().st_size > 0


def flood_target(flood, flood_cloud):
    return flood.Target(url=flood_cloud.url, db_url=flood_cloud.db_url,
                        amqp_url=flood_cloud.rabbit_url.replace("rabbit://", "amqp://"),
                        pids=flood_cloud.pids(), password=DEMO_PASSWORD,
                        admin_password=ADMIN_PASSWORD, hosts=HOSTS,
                        config_file=flood_cloud.config_file)


def live_servers(flood_cloud):
    from sqlalchemy import create_engine, text
    engine = create_engine(flood_cloud.db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM instances WHERE NOT deleted "
                                     "AND name LIKE 'flood-%'")).scalar()
    finally:
        engine.dispose()


@pytest.mark.timeout(300)
def test_flood_batch_counts_servers(flood_cloud, tmp_path):
    """--batch 10: 191 servers in 20 multi-create requests (the last asks for
    one, named without a suffix), 4 clients. Every count is in servers; the
    API answers each request with its first server's id, and the other 171
    are found by name and deleted one DELETE each."""
    import json
    flood = load_flood()
    servers, batch = 191, 10
    report = flood.run(flood_target(flood, flood_cloud), servers, 4, show_progress=False,
                       json_path=str(tmp_path / "batch.json"),
                       plot_path=str(tmp_path / "batch.png"), timeout=120, sample=0.5,
                       batch=batch)
    flood.print_report(report)
    create = report["create"]
    assert report["errors"] == {}
    assert report["conditions"]["batch"] == batch
    assert create["requests"] == create["requests_accepted"] == 20
    assert create["sent"] == create["accepted"] == servers
    assert create["accept_rate"] > create["request_rate"] > 0
    assert report["samples"][-1]["accepted"] == servers
    assert report["samples"][-1]["create_requests_sent"] == 20
    assert sum(b[1] for b in report["create_latency_over_time"]) == servers
    assert 0 < create["latency_ms"]["p50"] <= create["latency_ms"]["p99"]
    assert report["build"]["active"] == servers, report["build"]
    assert report["build"]["error"] == 0 and report["build"]["still_building"] == 0
    assert report["accounting_when_loaded"] == {k: [] for k in flood.CHECKS}
    assert report["accounting_after"] == {k: [] for k in flood.CHECKS}
    assert report["exact"] and flood.succeeded(report)
    assert report["delete"]["sent"] == servers
    assert report["delete"]["left"] == 0 and report["delete"]["left_allocations"] == 0
    assert live_servers(flood_cloud) == 0
    cpu = report["client"]
    assert 0 < cpu["create_cpu_ms_per_server"] < cpu["create_cpu_ms_per_request"]
    written = json.loads((tmp_path / "batch.json").read_text())
    assert written["create"]["accepted"] == servers and written["create"]["requests"] == 20


@pytest.mark.timeout(300)
def test_flood_batch_open_loop_and_sweep(flood_cloud, tmp_path):
    """--batch with --rate (servers/s: rate / batch requests/s) and with
    --sweep (each step's counts in servers)."""
    flood = load_flood()
    target = flood_target(flood, flood_cloud)
    report = flood.run(target, 40, 10, show_progress=False, rate=40.0, batch=8,
                       timeout=120, sample=0.5)
    create = report["create"]
    assert report["errors"] == {}
    assert create["requests"] == 5 and create["accepted"] == 40
    # 5 requests at 5 a second: the last one is sent 0.8 s after the first
    assert create["seconds"] >= 0.8
    assert report["build"]["active"] == 40 and report["delete"]["left"] == 0
    assert report["exact"]

    steps = [(2, 25), (5, 30)]
    report = flood.run(target, 0, 0, show_progress=False, sweep=steps, batch=10,
                       timeout=120, sample=0.5)
    flood.print_report(report)
    assert report["errors"] == {} and report["exact"]
    assert report["conditions"]["batch"] == 10
    for step, (clients, servers), requests in zip(report["sweep"], steps, (3, 3)):
        assert step["sent"] == step["accepted"] == step["active"] == servers, step
        assert step["requests"] == requests and step["batch"] == 10
        assert step["concurrency"] == min(clients, requests)
        assert step["accept_rate"] > 0 and step["accept_rate_peak_5s"] > 0
        assert step["accounting_exact"]
        assert step["delete"] == {**step["delete"], "sent": servers, "left": 0}
    assert live_servers(flood_cloud) == 0


def test_batch_create_checks_first_name_after_a_broken_connection():
    """A multi-create whose connection broke: was it made? Its first server
    (<name>-1; a request of one server has the plain name) tells, its rows
    all written in one transaction; found, all its servers count as accepted."""
    import asyncio

    import aiohttp
    flood = load_flood()
    import flood_http

    class Broken:
        def post(self, url, json=None):
            raise aiohttp.ServerDisconnectedError()

    asked = []

    def exists(name):
        asked.append(name)
        return "uuid-1" if name.endswith("-1") else None

    rec = flood_http.Recorder()
    body = {"server": {"name": "flood-x-3", "min_count": 10, "max_count": 10}}
    asyncio.run(flood_http.create(Broken(), rec, body, exists))
    assert asked == ["flood-x-3-1"]
    assert rec.ids == ["uuid-1"] and rec.accepted == 10 and rec.errors == {}
    assert rec.creates[-1][2:] == (202, 10)

    asked.clear()
    asyncio.run(flood_http.create(Broken(), rec, {"server": {"name": "flood-x-4"}}, exists))
    assert asked == ["flood-x-4"] * (flood_http.RETRIES + 1)
    assert rec.accepted == 10 and rec.errors == {"create ServerDisconnectedError": 1}
    assert rec.creates[-1][2:] == ("ServerDisconnectedError", 1)
    for bad in ("0", "1001"):                 # the API's max_count is 1000
        with pytest.raises(SystemExit):
            flood.main(["--batch", bad])


@pytest.mark.timeout(300)
def test_flood_without_network_takes_the_old_path(flood_cloud, tmp_path):
    """--no-network: servers with "networks": "none", no port, no address,
    even though the project has the flood's network (which "auto" would pick)."""
    flood = load_flood()
    report = flood.run(flood_target(flood, flood_cloud), 30, 5, show_progress=False,
                       timeout=120, sample=0.5, cidr=None)
    assert report["errors"] == {} and report["exact"] and flood.succeeded(report)
    assert report["network"] is None and report["conditions"]["network"] is None
    assert report["build"]["active"] == 30 and report["delete"]["left"] == 0


def test_the_checks_find_a_port_and_an_address_a_deleted_server_kept(flood_cloud):
    """The accounting checks can fail: a port (with an address of the flood's
    subnet) whose server is deleted is found by port_of_deleted_server and
    address_of_deleted_server; once it is gone, they are empty again."""
    import uuid

    from sqlalchemy import create_engine, text
    flood = load_flood()
    import flood_http
    token, project = flood_http.login(flood_cloud.url, "demo", DEMO_PASSWORD, "demo")
    admin_token, _ = flood_http.login(flood_cloud.url, "admin", ADMIN_PASSWORD, "admin")
    net = flood_http.ensure_network(flood_cloud.url, token, project, admin_token=admin_token)
    subnet, network = net["subnet_id"], net["network_id"]
    engine = create_engine(flood_cloud.db_url)
    server, port = str(uuid.uuid4()), str(uuid.uuid4())
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO ports (id, network_id, project_id, name, description, "
                "mac_address, device_id, device_owner, admin_state_up, status, "
                "port_security_enabled, preserve_on_delete, created_at) VALUES (:id, :n, "
                "'x', '', '', 'fa:16:3e:ff:ff:fe', :d, 'compute:nova', true, 'DOWN', true, "
                "false, now())"), {"id": port, "n": network, "d": server})
            conn.execute(text(
                "UPDATE ip_allocations SET port_id = :port, allocated_at = now() "
                "WHERE subnet_id = :s AND address = (SELECT min(address) FROM "
                "ip_allocations WHERE subnet_id = :s AND port_id IS NULL)"),
                {"port": port, "s": subnet})
        found = flood.verify(engine)
        assert [r[1] for r in found["port_of_deleted_server"]] == [server]
        assert [r[1] for r in found["address_of_deleted_server"]] == [server]
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM ports WHERE id = :id"), {"id": port})
        found = flood.verify(engine)
        engine.dispose()
    assert found["port_of_deleted_server"] == found["address_of_deleted_server"] == []
