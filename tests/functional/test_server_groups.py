"""Server groups end to end, with two real nova-lite-scheduler processes
racing: servers of one group created at the same time reach both
schedulers, which place them side by side. However they race, an
anti-affinity group never gets two members on one host and an affinity group
never gets two hosts (each claim re-checks the group's policy under a lock on
its row, db/claims.py), single creates and a multi-create alike; a member
that cannot be placed fails saying why."""
import concurrent.futures

import pytest
from sqlalchemy import create_engine, text

from tests.fixtures.cloud import CloudClient, upload_image
from tests.fixtures.credentials import ADMIN_PASSWORD, DEMO_PASSWORD
from tests.fixtures.waiting import wait_for

HOSTS = 8


@pytest.fixture(scope="module")
def group_cloud(configured, postgres, rabbit, state_dir):
    from tests.fixtures import quotas
    from tests.fixtures.services import Cloud
    running = Cloud(postgres, rabbit, state_dir, configured.identity.fernet_key_file,
                    sim_hosts=HOSTS, schedulers=2, name="groupcloud", db_name="groups",
                    vhost="groups",
                    default_conf="report_interval = 2\nservice_down_time = 30\n",
                    extra_conf="[sim]\nspawn_time = 0.2\ndelete_time = 0.1\n"
                               "report_interval = 2\npower_sync_interval = 5\n"
                               "vcpus = 4\nmemory_mb = 8192\nlocal_gb = 100\n"
                               # Each scheduler picks at random among all hosts
                               # and places at once: they collide often.
                               "[scheduler]\nhost_subset_size = 8\nbatch_wait = 0\n")
    running.start()
    with running.session() as session:
        quotas.unlimit(session)            # more servers than the default 10
    running.admin = CloudClient(running.url, "admin", ADMIN_PASSWORD, "admin")
    running.demo = CloudClient(running.url, "demo", DEMO_PASSWORD, "demo")
    running.image = upload_image(running.admin, "groups-tiny", b"\0" * 1024)
    running.engine = create_engine(running.db_url)
    yield running
    running.engine.dispose()
    running.stop()


def group(cloud, policy):
    response = cloud.demo.compute("POST", "/os-server-groups", json={"server_group": {
        "name": policy, "policies": [policy]}})
    assert response.status_code == 200, response.text
    return response.json()["server_group"]["id"]


def create(cloud, name, group_id, **extra):
    response = cloud.demo.compute("POST", "/servers", json={
        "server": {"name": name, "imageRef": cloud.image, "flavorRef": "1",
                   "networks": "none", **extra},
        "os:scheduler_hints": {"group": group_id}})
    assert response.status_code == 202, response.text
    return response.json()["server"]["id"]


def settle(cloud, ids):
    def fetch():
        with cloud.engine.connect() as conn:
            return conn.execute(text("SELECT uuid, vm_state, host FROM instances "
                                     "WHERE uuid = ANY(:ids)"), {"ids": ids}).all()
    rows = wait_for(fetch, lambda rows: len(rows) == len(ids) and all(
        r.vm_state in ("active", "error") for r in rows), timeout=90,
        what="the group's servers settled")
    return {r.uuid: (r.vm_state, r.host) for r in rows}


def members(cloud, group_id):
    shown = cloud.demo.compute("GET", f"/os-server-groups/{group_id}")
    return sorted(shown.json()["server_group"]["members"])


def at_once(cloud, group_id, count, prefix):
    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda n: create(cloud, f"{prefix}-{n}", group_id),
                             range(count)))


def test_anti_affinity_holds_with_two_schedulers_racing(group_cloud):
    group_id = group(group_cloud, "anti-affinity")
    ids = at_once(group_cloud, group_id, HOSTS, "anti")
    placed = settle(group_cloud, ids)
    assert {state for state, _ in placed.values()} == {"active"}, placed
    assert len({host for _, host in placed.values()}) == HOSTS, placed
    assert members(group_cloud, group_id) == sorted(ids)
    # A ninth member has no host left: it fails, saying why.
    extra = create(group_cloud, "anti-extra", group_id)
    assert settle(group_cloud, [extra])[extra][0] == "error"
    fault = group_cloud.demo.compute("GET", f"/servers/{extra}").json()["server"]["fault"]
    assert fault["message"].startswith("No valid host was found. ")
    assert f"{HOSTS} hosts already held a member of its server group (anti-affinity)" \
        in fault["message"], fault


def test_affinity_holds_with_two_schedulers_racing(group_cloud):
    group_id = group(group_cloud, "affinity")
    ids = at_once(group_cloud, group_id, 6, "aff")
    placed = settle(group_cloud, ids)
    assert {state for state, _ in placed.values()} == {"active"}, placed
    assert len({host for _, host in placed.values()}) == 1, placed


def test_a_multi_create_honours_its_group(group_cloud):
    group_id = group(group_cloud, "anti-affinity")
    create(group_cloud, "multi", group_id, min_count=4, max_count=4)
    ids = wait_for(lambda: members(group_cloud, group_id), lambda m: len(m) == 4)
    placed = settle(group_cloud, ids)
    assert {state for state, _ in placed.values()} == {"active"}, placed
    assert len({host for _, host in placed.values()}) == 4, placed
