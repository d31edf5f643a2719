"""The scaled-down flood (issue 6): 2,000 servers created by 200 concurrent
HTTP clients on 200 simulated hosts (one nova-lite-compute process), then all
deleted, through real API, conductor, scheduler and compute processes.

It asserts correctness only, never speed: every server ACTIVE, no error or
timeout, accounting exact by SQL (each node's usage = its allocations = its
instances' flavors, no instance claimed twice, no address used twice) while
loaded and after, nothing left after the deletes.

Size: NOVA_LITE_FLOOD="servers,hosts,clients" (default "2000,200,200")."""
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
    # Every simulated host ran in the one compute process and took a share.
    assert len([p for p in report["processes"] if p.startswith("compute")]) == 1
