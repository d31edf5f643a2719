"""The sim driver: one nova-lite-compute process runs 20 simulated hosts, each
a real compute service (own queue, compute node, heartbeat), driven through
the whole stack (API, conductor, scheduler as real processes)."""
import pytest
from sqlalchemy import create_engine, text

from tests.fixtures.cloud import CloudClient, upload_image
from tests.fixtures.credentials import ADMIN_PASSWORD, DEMO_PASSWORD
from tests.fixtures.waiting import wait_for

HOSTS = 20


@pytest.fixture(scope="module")
def sim_cloud(configured, postgres, rabbit, state_dir):
    from tests.fixtures.services import Cloud
    running = Cloud(postgres, rabbit, state_dir, configured.identity.fernet_key_file,
                    sim_hosts=HOSTS, name="simcloud", db_name="simhosts", vhost="simhosts",
                    default_conf="report_interval = 2\nservice_down_time = 30\n",
                    extra_conf="[sim]\nspawn_time = 0.3\ndelete_time = 0.1\n"
                               "report_interval = 2\npower_sync_interval = 5\n"
                               "vcpus = 4\nmemory_mb = 8192\nlocal_gb = 100\n")
    running.start()
    running.admin = CloudClient(running.url, "admin", ADMIN_PASSWORD, "admin")
    running.demo = CloudClient(running.url, "demo", DEMO_PASSWORD, "demo")
    running.image = upload_image(running.admin, "sim-tiny", b"\0" * 1024)
    running.engine = create_engine(running.db_url)
    yield running
    running.engine.dispose()
    running.stop()


def sql(cloud, query, **params):
    with cloud.engine.connect() as conn:
        return conn.execute(text(query), params).all()


def statuses(cloud, ids):
    servers = cloud.demo.compute("GET", "/servers/detail?limit=1000").json()["servers"]
    found = {s["id"]: s["status"] for s in servers}
    return {i: found.get(i, "GONE") for i in ids}


def create(cloud, name, **extra):
    response = cloud.demo.compute("POST", "/servers", json={"server": {
        "name": name, "imageRef": cloud.image, "flavorRef": "1", **extra}})
    assert response.status_code == 202, response.text
    return response.json()["server"]["id"]


def test_every_simulated_host_is_a_compute_service(sim_cloud, rabbit):
    nodes = sql(sim_cloud, "SELECT n.host, n.hypervisor_type, n.vcpus, n.memory_mb, "
                           "s.report_count FROM compute_nodes n JOIN services s ON "
                           "s.host = n.host AND s.binary = 'nova-lite-compute' ORDER BY n.host")
    assert [n.host for n in nodes] == [f"sim-{i:05d}" for i in range(HOSTS)]
    assert {(n.hypervisor_type, n.vcpus, n.memory_mb) for n in nodes} == {("sim", 4, 8192)}
    # Heartbeats keep coming, spread over [sim] report_interval.
    before = {n.host: n.report_count for n in nodes}
    wait_for(lambda: sql(sim_cloud, "SELECT host, report_count FROM services "
                                    "WHERE \"binary\" = 'nova-lite-compute'"),
             lambda rows: all(r.report_count > before[r.host] for r in rows), timeout=20)
    queues = rabbit.queue_names("simhosts")
    assert {f"compute.sim-{i:05d}" for i in range(HOSTS)} <= set(queues)


def test_servers_boot_on_many_simulated_hosts_and_delete(sim_cloud):
    ids = [create(sim_cloud, f"sim-vm-{i}") for i in range(40)]
    wait_for(lambda: statuses(sim_cloud, ids),
             lambda s: all(v in ("ACTIVE", "ERROR") for v in s.values()), timeout=60)
    assert set(statuses(sim_cloud, ids).values()) == {"ACTIVE"}
    hosts = sql(sim_cloud, "SELECT DISTINCT host FROM instances WHERE uuid = ANY(:ids)",
                ids=ids)
    assert len(hosts) >= 10, "the spread weigher uses many simulated hosts"
    exact = sql(sim_cloud, "SELECT n.host FROM compute_nodes n LEFT JOIN (SELECT node_id, "
                           "sum(memory_mb) m, count(*) c FROM allocations GROUP BY node_id) a "
                           "ON a.node_id = n.id WHERE n.memory_mb_used <> coalesce(a.m, 0) "
                           "OR n.running_vms <> coalesce(a.c, 0)")
    assert exact == []
    for server_id in ids:
        assert sim_cloud.demo.compute("DELETE", f"/servers/{server_id}").status_code == 204
    wait_for(lambda: statuses(sim_cloud, ids),
             lambda s: set(s.values()) == {"GONE"}, timeout=60)
    assert sql(sim_cloud, "SELECT count(*) FROM allocations")[0][0] == 0


def test_an_injected_failure_ends_in_error_with_a_fault(sim_cloud):
    server_id = create(sim_cloud, "sim-fails", metadata={"sim_spawn_error": "disk on fire"})
    wait_for(lambda: statuses(sim_cloud, [server_id]),
             lambda s: s[server_id] in ("ACTIVE", "ERROR"), timeout=30)
    server = sim_cloud.demo.compute("GET", f"/servers/{server_id}").json()["server"]
    assert server["status"] == "ERROR"
    assert "disk on fire" in server["fault"]["message"]
    assert sql(sim_cloud, "SELECT count(*) FROM allocations WHERE instance_uuid = :u",
               u=server_id)[0][0] == 0
    sim_cloud.demo.compute("DELETE", f"/servers/{server_id}")
