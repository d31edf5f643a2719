"""Boot and delete servers end to end: API, conductor, scheduler and two
computes (fake driver) as real processes, over real PostgreSQL and RabbitMQ."""
import json
import os
import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import create_engine, text

from tests.fixtures.cloud import create_server as create
from tests.fixtures.cloud import openstack_env, server_status
from tests.fixtures.waiting import wait_for


def usage(cloud):
    engine = create_engine(cloud.db_url)
    with engine.connect() as conn:
        nodes = conn.execute(text(
            "SELECT host, vcpus_used, memory_mb_used, local_gb_used, running_vms "
            "FROM compute_nodes ORDER BY host")).all()
        allocs = conn.execute(text(
            "SELECT n.host, coalesce(sum(a.vcpus),0), coalesce(sum(a.memory_mb),0), "
            "coalesce(sum(a.disk_gb),0), count(a.instance_uuid) FROM compute_nodes n "
            "LEFT JOIN allocations a ON a.node_id = n.id GROUP BY n.host ORDER BY n.host")).all()
    engine.dispose()
    return [tuple(r) for r in nodes], [tuple(r) for r in allocs]


def test_boot_and_delete_over_http(cloud, cloud_image):
    server_id = create(cloud.demo, cloud_image, name="http-vm")
    status, server = wait_for(lambda: server_status(cloud.demo, server_id),
                              lambda s: s[0] in ("ACTIVE", "ERROR"))
    assert status == "ACTIVE", server
    assert server["OS-EXT-STS:power_state"] == 1
    assert server["OS-EXT-STS:task_state"] is None
    assert server["hostId"]
    listed = cloud.demo.compute("GET", "/servers").json()["servers"]
    assert server_id in {s["id"] for s in listed}
    admin_view = cloud.admin.compute("GET", f"/servers/{server_id}").json()["server"]
    assert admin_view["OS-EXT-SRV-ATTR:host"] in ("compute1", "compute2")
    nodes, allocs = usage(cloud)
    assert sum(n[2] for n in nodes) >= 512

    response = cloud.demo.compute("DELETE", f"/servers/{server_id}")
    assert response.status_code == 204
    wait_for(lambda: server_status(cloud.demo, server_id), lambda s: s[0] == "GONE")
    actions = cloud.demo.compute("GET", "/servers/detail").json()["servers"]
    assert server_id not in {s["id"] for s in actions}


def test_accounting_is_exact_after_many_boots_and_deletes(cloud, cloud_image):
    ids = [create(cloud.demo, cloud_image) for _ in range(12)]
    for server_id in ids:
        status, server = wait_for(lambda: server_status(cloud.demo, server_id),
                                  lambda s: s[0] in ("ACTIVE", "ERROR"))
        assert status == "ACTIVE", server
    nodes, allocs = usage(cloud)
    # Each node's usage equals the sum of what its allocations hold.
    assert [n[1:] for n in nodes] == [a[1:] for a in allocs]
    assert sum(n[4] for n in nodes) >= 12
    # Both hosts got work (weigher spreads by free RAM).
    assert all(n[4] > 0 for n in nodes)
    for server_id in ids:
        assert cloud.demo.compute("DELETE", f"/servers/{server_id}").status_code == 204
    for server_id in ids:
        wait_for(lambda: server_status(cloud.demo, server_id), lambda s: s[0] == "GONE")
    nodes, allocs = usage(cloud)
    assert [n[1:] for n in nodes] == [a[1:] for a in allocs]


def test_multi_create_boots_every_instance(cloud, cloud_image):
    response = cloud.demo.compute("POST", "/servers", json={"server": {
        "name": "multi", "imageRef": cloud_image, "flavorRef": "1",
        "min_count": 3, "max_count": 3, "return_reservation_id": True}})
    assert response.status_code == 202, response.text
    reservation = response.json()["reservation_id"]
    found = wait_for(
        lambda: cloud.demo.compute("GET", f"/servers/detail?reservation_id={reservation}")
        .json()["servers"],
        lambda servers: len(servers) == 3 and all(s["status"] == "ACTIVE" for s in servers))
    assert sorted(s["name"] for s in found) == ["multi-1", "multi-2", "multi-3"]
    for server in found:
        cloud.demo.compute("DELETE", f"/servers/{server['id']}")


def test_spawn_failure_ends_in_error_with_fault_and_no_claim(cloud, cloud_image):
    server_id = create(cloud.demo, cloud_image,
                       metadata={"fake_spawn_error": "disk exploded"})
    status, server = wait_for(lambda: server_status(cloud.demo, server_id),
                              lambda s: s[0] in ("ACTIVE", "ERROR"))
    assert status == "ERROR"
    assert "disk exploded" in server["fault"]["message"]
    engine = create_engine(cloud.db_url)
    with engine.connect() as conn:
        held = conn.execute(text("SELECT count(*) FROM allocations WHERE instance_uuid = :u"),
                            {"u": server_id}).scalar()
    engine.dispose()
    assert held == 0
    assert cloud.demo.compute("DELETE", f"/servers/{server_id}").status_code == 204
    wait_for(lambda: server_status(cloud.demo, server_id), lambda s: s[0] == "GONE")


def test_no_valid_host_is_an_error_with_a_clear_fault(cloud, cloud_image):
    response = cloud.admin.compute("POST", "/flavors", json={"flavor": {
        "name": "e2e.huge", "ram": 10 ** 7, "vcpus": 1, "disk": 1, "id": "e2e-huge"}})
    assert response.status_code == 200, response.text
    server_id = create(cloud.admin, cloud_image, flavor="e2e-huge")
    status, server = wait_for(lambda: server_status(cloud.admin, server_id),
                              lambda s: s[0] in ("ACTIVE", "ERROR"))
    assert status == "ERROR"
    assert server["fault"]["message"].startswith("No valid host was found")
    cloud.admin.compute("DELETE", f"/servers/{server_id}")


@pytest.mark.parametrize("body, words", [
    ({"server": {"name": "x", "imageRef": "IMAGE", "flavorRef": "no-such-flavor"}},
     "Flavor no-such-flavor could not be found"),
    ({"server": {"name": "x", "imageRef": str(uuid.UUID(int=1)), "flavorRef": "1"}},
     "could not be found"),
    ({"server": {"imageRef": "IMAGE", "flavorRef": "1"}}, "'name' is a required property"),
    ({"server": {"name": "x", "imageRef": "IMAGE", "flavorRef": "1", "bogus": 1}},
     "Additional properties"),
    ({"server": {"name": "x", "imageRef": "IMAGE", "flavorRef": "1", "key_name": "nokey"}},
     "Invalid key_name"),
])
def test_bad_create_requests_get_400_in_openstack_format(cloud, cloud_image, body, words):
    raw = json.dumps(body).replace("IMAGE", cloud_image)
    response = cloud.demo.compute("POST", "/servers", content=raw,
                                  headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert words in response.json()["badRequest"]["message"]
    assert response.json()["badRequest"]["code"] == 400


def test_malformed_json_and_wrong_token(cloud):
    response = cloud.demo.compute("POST", "/servers", content=b'{"server": ',
                                  headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "Malformed" in response.json()["badRequest"]["message"]
    response = cloud.demo.http.get("/compute/v2.1/servers",
                                   headers={"X-Auth-Token": "not-a-token"})
    assert response.status_code == 401
    response = cloud.demo.compute("GET", f"/servers/{uuid.uuid4()}")
    assert response.status_code == 404
    assert "itemNotFound" in response.json()


def _openstack(cloud, *args, timeout=180):
    exe = os.path.join(os.path.dirname(sys.executable), "openstack")
    if not os.path.exists(exe):
        pytest.skip("python-openstackclient is not installed in this environment "
                    "(pip install -e .[test] installs it)")
    result = subprocess.run([exe, *args], env=openstack_env(cloud.url, "demo"),
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"openstack {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


def test_openstack_client_boots_lists_and_deletes(cloud, cloud_image):
    out = _openstack(cloud, "server", "create", "--flavor", "m1.tiny", "--image", "e2e-tiny",
                     "--wait", "-f", "json", "osc-vm1")
    assert json.loads(out)["status"] == "ACTIVE"
    listed = json.loads(_openstack(cloud, "server", "list", "-f", "json"))
    assert [s["Status"] for s in listed if s["Name"] == "osc-vm1"] == ["ACTIVE"]
    _openstack(cloud, "server", "delete", "--wait", "osc-vm1")
    listed = json.loads(_openstack(cloud, "server", "list", "-f", "json"))
    assert "osc-vm1" not in {s["Name"] for s in listed}


def test_list_filters_reject_bad_regex_and_links_are_encoded(cloud, cloud_image):
    response = cloud.demo.compute("GET", "/servers?name=(")
    assert response.status_code == 400, response.text
    assert "Invalid name filter" in response.json()["badRequest"]["message"]
    ids = [create(cloud.demo, cloud_image, name=f"page & {i}") for i in range(3)]
    page = cloud.demo.compute("GET", "/servers?limit=2&name=page %26").json()
    assert len(page["servers"]) == 2
    nxt = page["servers_links"][0]["href"]
    assert "name=page+%26" in nxt
    rest = cloud.demo.http.get(nxt).json()["servers"]
    assert len(rest) == 1
    assert {s["id"] for s in page["servers"] + rest} == set(ids)
    for server_id in ids:
        cloud.demo.compute("DELETE", f"/servers/{server_id}")


def test_a_lost_message_is_recovered_by_the_reconciler(cloud, cloud_image, rabbit):
    """Stop the scheduler, create a server, throw its scheduling message away,
    start the scheduler again: the conductor's reconciler re-sends the work."""
    from kombu import Connection

    cloud.stop_service("scheduler")
    try:
        server_id = create(cloud.demo, cloud_image, name="lost-message")
        with Connection(rabbit.url.replace("rabbit://", "amqp://")) as conn:
            channel = conn.channel()
            deadline = time.monotonic() + 30
            purged = 0
            while time.monotonic() < deadline and not purged:
                purged = channel.queue_purge("scheduler") or 0
                time.sleep(0.2)
        assert purged >= 1, "the scheduling message never reached the scheduler queue"
        assert server_status(cloud.demo, server_id)[0] == "BUILD"
    finally:
        cloud.start_service("scheduler")
    status, server = wait_for(lambda: server_status(cloud.demo, server_id),
                              lambda s: s[0] in ("ACTIVE", "ERROR"), timeout=90)
    assert status == "ACTIVE", server
    cloud.demo.compute("DELETE", f"/servers/{server_id}")


def test_a_server_deleted_in_build_whose_delete_is_lost_is_still_deleted(
        cloud, cloud_image, rabbit):
    """Its host dies mid-spawn and the queued build and terminate are thrown
    away: the reconciler must send the delete again (not the build, which
    would spawn it anew and leave it in BUILD until the build timeout)."""
    from kombu import Connection

    server_id = create(cloud.demo, cloud_image, name="lost-delete",
                       metadata={"fake_spawn_seconds": "30"})
    _, server = wait_for(lambda: server_status(cloud.admin, server_id),
                         lambda s: s[1]["OS-EXT-STS:task_state"] == "spawning")
    host = server["OS-EXT-SRV-ATTR:host"]
    with cloud.host_killed(host):
        assert cloud.demo.compute("DELETE", f"/servers/{server_id}").status_code == 204
        with Connection(rabbit.url.replace("rabbit://", "amqp://")) as conn:
            channel = conn.channel()
            # The build (back in the queue, unacked when its host died) and the
            # terminate: both lost.
            queue = f"compute.{host}"
            wait_for(lambda: channel.queue_declare(queue, passive=True).message_count,
                     lambda count: count >= 2, timeout=30)
            assert channel.queue_purge(queue) >= 2
        assert server_status(cloud.admin, server_id)[1]["OS-EXT-STS:task_state"] == \
            "deleting"
    wait_for(lambda: server_status(cloud.demo, server_id), lambda s: s[0] == "GONE",
             timeout=60)


def test_a_server_deleted_while_its_build_fails_is_deleted_not_left_in_error(
        cloud, cloud_image):
    server_id = create(cloud.demo, cloud_image, name="doomed-and-deleted", metadata={
        "fake_spawn_seconds": "4", "fake_spawn_error": "disk exploded"})
    wait_for(lambda: server_status(cloud.admin, server_id),
             lambda s: s[1]["OS-EXT-STS:task_state"] == "spawning")
    assert cloud.demo.compute("DELETE", f"/servers/{server_id}").status_code == 204
    wait_for(lambda: server_status(cloud.demo, server_id), lambda s: s[0] == "GONE",
             timeout=60)
    with cloud.session() as session:
        deleted = session.execute(text(
            "SELECT count(*) FROM instance_actions WHERE instance_uuid = :u "
            "AND action = 'delete' AND finish_time IS NOT NULL"), {"u": server_id}).scalar()
        held = session.execute(text(
            "SELECT count(*) FROM allocations WHERE instance_uuid = :u"),
            {"u": server_id}).scalar()
    assert (deleted, held) == (1, 0)


def test_a_server_on_a_host_that_is_down_is_deleted_at_once(cloud, cloud_image, rabbit):
    """As Nova's local delete: its host's service is down, so the delete is
    done in the database at once (claim freed), and the host is still sent
    the terminate, which removes the guest once it is back."""
    from kombu import Connection

    server_id = create(cloud.demo, cloud_image, name="on-a-dead-host")
    _, server = wait_for(lambda: server_status(cloud.admin, server_id),
                         lambda s: s[0] in ("ACTIVE", "ERROR"))
    assert server["status"] == "ACTIVE", server
    host = server["OS-EXT-SRV-ATTR:host"]
    with cloud.host_killed(host, silent_for=3600):
        assert cloud.demo.compute("DELETE", f"/servers/{server_id}").status_code == 204
        assert server_status(cloud.demo, server_id)[0] == "GONE"    # at once
        with cloud.session() as session:
            held = session.execute(text(
                "SELECT count(*) FROM allocations WHERE instance_uuid = :u"),
                {"u": server_id}).scalar()
        assert held == 0
        with Connection(rabbit.url.replace("rabbit://", "amqp://")) as conn:
            channel = conn.channel()
            wait_for(lambda: channel.queue_declare(f"compute.{host}", passive=True)
                     .message_count, lambda count: count >= 1, timeout=30)
