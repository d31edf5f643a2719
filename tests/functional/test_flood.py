"""The scaled-down flood (issue 6): 2,000 servers created by 200 concurrent
HTTP clients on 200 simulated hosts (one nova-lite-compute process), then all
deleted, through real API, conductor, scheduler and compute processes.

It asserts correctness only, never speed: every server ACTIVE, no error or
timeout, accounting exact by SQL (each node's usage = its allocations = its
instances' flavors, no instance claimed twice, no address used twice) while
loaded and after, nothing left after the deletes.

Size: NOVA_LITE_FLOOD="servers,hosts,clients" (default "2000,200,200").

Also on the same cloud: a small concurrency sweep (--sweep) and the backend
baselines (--baseline), asserting on counts and on rates being measured,
never on how high they are."""
import importlib.util
import os

import pytest

from tests.conftest import ADMIN_PASSWORD, DEMO_PASSWORD

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVERS, HOSTS, CLIENTS = (int(v) for v in os.environ.get(
    "NOVA_LITE_FLOOD", "2000,200,200").split(","))


def load_flood():
    spec = importlib.util.spec_from_file_location("flood", os.path.join(ROOT, "tools",
                                                                        "flood.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
