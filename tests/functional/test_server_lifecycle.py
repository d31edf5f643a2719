"""resize / confirmResize / revertResize and rebuild end to end (fake driver,
services as processes): Nova's states and flavors, the claims on the node
(the old flavor held by the migration record until confirm or revert), the
migrations record, the 409s, a failed resize undone, and two racing actions
of which one wins whole."""
import concurrent.futures

import pytest
from sqlalchemy import create_engine, text

from tests.fixtures.cloud import create_server as create
from tests.fixtures.cloud import server_status, settle, upload_image
from tests.fixtures.waiting import wait_for

TINY, SMALL = "1", "2"          # m1.tiny (1 vCPU, 512 MB, 1 GB), m1.small (1, 2048, 20)


def act(client, server_id, body, expect=202):
    response = client.compute("POST", f"/servers/{server_id}/action", json=body)
    assert response.status_code == expect, response.text
    return response


def query(cloud, sql, **params):
    engine = create_engine(cloud.db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params).all()]
    finally:
        engine.dispose()


def node_usage_matches_allocations(cloud):
    nodes = query(cloud, "SELECT n.id, n.vcpus_used, n.memory_mb_used, n.local_gb_used, "
                         "n.running_vms FROM compute_nodes n ORDER BY n.id")
    sums = query(cloud, "SELECT n.id, coalesce(sum(a.vcpus), 0), coalesce(sum(a.memory_mb), "
                        "0), coalesce(sum(a.disk_gb), 0), count(a.instance_uuid) FROM "
                        "compute_nodes n LEFT JOIN allocations a ON a.node_id = n.id "
                        "GROUP BY n.id ORDER BY n.id")
    return nodes == sums


def held(cloud, server_id):
    """(what the server holds, what its migrations hold): (memory_mb, disk_gb) lists."""
    mine = query(cloud, "SELECT memory_mb, disk_gb FROM allocations WHERE instance_uuid = :u",
                 u=server_id)
    moved = query(cloud, "SELECT a.memory_mb, a.disk_gb FROM allocations a JOIN migrations m "
                         "ON m.uuid = a.instance_uuid WHERE m.instance_uuid = :u", u=server_id)
    return mine, moved


def migration(cloud, server_id):
    return query(cloud, "SELECT status, migration_type, old_instance_type_id, "
                        "new_instance_type_id, source_compute, dest_compute FROM migrations "
                        "WHERE instance_uuid = :u ORDER BY id DESC LIMIT 1", u=server_id)[0]


def action_names(client, server_id):
    return [a["action"] for a in client.compute(
        "GET", f"/servers/{server_id}/os-instance-actions").json()["instanceActions"]]


@pytest.fixture
def server(cloud, cloud_image):
    server_id = create(cloud.demo, cloud_image, flavor=TINY)
    status, body = wait_for(lambda: server_status(cloud.demo, server_id),
                            lambda s: s[0] in ("ACTIVE", "ERROR"))
    assert status == "ACTIVE", body
    yield server_id
    cloud.demo.compute("DELETE", f"/servers/{server_id}")


def resized(cloud, server_id, flavor=SMALL):
    act(cloud.demo, server_id, {"resize": {"flavorRef": flavor}})
    current = settle(cloud.demo, server_id)
    assert current["status"] == "VERIFY_RESIZE", current
    return current


def test_resize_then_confirm(cloud, server):
    current = resized(cloud, server)
    assert current["flavor"]["id"] == SMALL
    # Until it is confirmed the node holds both flavors: the old for the migration.
    assert held(cloud, server) == ([(2048, 20)], [(512, 1)])
    assert migration(cloud, server)[:4] == ("finished", "resize", TINY, SMALL)
    assert node_usage_matches_allocations(cloud)
    act(cloud.demo, server, {"confirmResize": None}, expect=204)
    current = settle(cloud.demo, server)
    assert (current["status"], current["flavor"]["id"]) == ("ACTIVE", SMALL)
    assert held(cloud, server) == ([(2048, 20)], [])
    assert migration(cloud, server)[0] == "confirmed"
    assert node_usage_matches_allocations(cloud)
    assert action_names(cloud.demo, server)[:2] == ["confirmResize", "resize"]


def test_resize_then_revert(cloud, server):
    resized(cloud, server)
    act(cloud.demo, server, {"revertResize": None})
    current = settle(cloud.demo, server)
    assert (current["status"], current["flavor"]["id"]) == ("ACTIVE", TINY)
    assert held(cloud, server) == ([(512, 1)], [])
    assert migration(cloud, server)[0] == "reverted"
    assert node_usage_matches_allocations(cloud)


def test_a_stopped_server_is_resized_and_stays_stopped(cloud, server):
    act(cloud.demo, server, {"os-stop": None})
    assert settle(cloud.demo, server)["status"] == "SHUTOFF"
    resized(cloud, server)
    act(cloud.demo, server, {"confirmResize": None}, expect=204)
    assert settle(cloud.demo, server)["status"] == "SHUTOFF"


def test_a_resize_that_fails_on_the_host_is_undone(cloud, cloud_image):
    server_id = create(cloud.demo, cloud_image, flavor=TINY,
                       metadata={"fake_resize_error": "disk on fire"})
    wait_for(lambda: server_status(cloud.demo, server_id)[0], lambda s: s == "ACTIVE")
    try:
        act(cloud.demo, server_id, {"resize": {"flavorRef": SMALL}})
        current = settle(cloud.demo, server_id)
        assert (current["status"], current["flavor"]["id"]) == ("ACTIVE", TINY)
        assert held(cloud, server_id) == ([(512, 1)], [])
        assert migration(cloud, server_id)[0] == "error"
        assert node_usage_matches_allocations(cloud)
        detail = cloud.demo.compute("GET", f"/servers/{server_id}/os-instance-actions").json()
        assert detail["instanceActions"][0]["action"] == "resize"
    finally:
        cloud.demo.compute("DELETE", f"/servers/{server_id}")


@pytest.mark.parametrize("body, message", [
    ({"resize": {"flavorRef": TINY}}, "When resizing, instances must change flavor!"),
    ({"confirmResize": None}, "Cannot 'confirmResize' instance {id} while it is in "
                              "vm_state active"),
    ({"revertResize": None}, "Cannot 'revertResize' instance {id} while it is in "
                             "vm_state active"),
])
def test_resize_conflicts(cloud, server, body, message):
    response = act(cloud.demo, server, body, expect=409)
    assert response.json()["conflictingRequest"]["message"] == message.format(id=server)


def test_resize_to_a_smaller_disk_is_409(cloud, cloud_image):
    server_id = create(cloud.demo, cloud_image, flavor=SMALL)
    wait_for(lambda: server_status(cloud.demo, server_id)[0], lambda s: s == "ACTIVE")
    try:
        response = act(cloud.demo, server_id, {"resize": {"flavorRef": TINY}}, expect=409)
        assert "Unable to resize disk down" in response.json()["conflictingRequest"]["message"]
        assert held(cloud, server_id) == ([(2048, 20)], [])
    finally:
        cloud.demo.compute("DELETE", f"/servers/{server_id}")


@pytest.mark.parametrize("body", [{"resize": {}}, {"resize": {"flavorRef": "no-such"}},
                                  {"rebuild": {}}, {"rebuild": {"imageRef": "nope"}},
                                  {"rebuild": {"imageRef": "x", "bad": 1}}])
def test_bad_resize_and_rebuild_bodies_are_400(cloud, server, body):
    response = act(cloud.demo, server, body, expect=400)
    assert response.json()["badRequest"]["code"] == 400


def test_rebuild_with_a_new_image_name_and_metadata(cloud, server):
    other = upload_image(cloud.admin, "rebuild-target", b"\1" * 4096)
    response = act(cloud.demo, server, {"rebuild": {
        "imageRef": other, "name": "rebuilt", "metadata": {"role": "db"},
        "adminPass": "s3cret-pass"}})
    body = response.json()["server"]
    assert body["adminPass"] == "s3cret-pass" and body["status"] == "REBUILD"
    current = settle(cloud.demo, server)
    assert current["status"] == "ACTIVE"
    assert (current["image"]["id"], current["name"], current["metadata"]) == (
        other, "rebuilt", {"role": "db"})
    output = act(cloud.demo, server, {"os-getConsoleOutput": {}}, expect=200).json()
    assert f"rebuilt from image {other}" in output["output"]
    assert action_names(cloud.demo, server)[0] == "rebuild"


def test_rebuild_of_a_paused_server_is_409(cloud, server):
    act(cloud.demo, server, {"pause": None})
    settle(cloud.demo, server)
    response = act(cloud.demo, server, {"rebuild": {"imageRef": "x"}}, expect=409)
    assert response.json()["conflictingRequest"]["message"] == (
        f"Cannot 'rebuild' instance {server} while it is in vm_state paused")


def test_two_racing_actions_one_wins_whole(cloud, server):
    """A resize and a stop sent at once: one is accepted, the other is 409,
    and the server ends as the winner left it with consistent claims."""
    bodies = [{"resize": {"flavorRef": SMALL}}, {"os-stop": None}]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        codes = list(pool.map(lambda b: cloud.demo.compute(
            "POST", f"/servers/{server}/action", json=b).status_code, bodies))
    assert sorted(codes) == [202, 409], codes
    current = settle(cloud.demo, server)
    if codes[0] == 202:                 # the resize won
        assert current["status"] == "VERIFY_RESIZE"
        assert held(cloud, server) == ([(2048, 20)], [(512, 1)])
    else:
        assert current["status"] == "SHUTOFF"
        assert held(cloud, server) == ([(512, 1)], [])
    assert node_usage_matches_allocations(cloud)


def test_reset_state_is_for_admins_and_aborts_a_resize_whole(cloud, server):
    response = act(cloud.demo, server, {"os-resetState": {"state": "error"}}, expect=403)
    assert "os_compute_api:os-admin-actions:reset_state" in response.text
    act(cloud.admin, server, {"os-resetState": {"state": "error"}})
    assert server_status(cloud.demo, server)[0] == "ERROR"
    act(cloud.admin, server, {"os-resetState": {"state": "active"}})
    assert server_status(cloud.demo, server)[0] == "ACTIVE"
    act(cloud.admin, server, {"os-resetState": {"state": "paused"}}, expect=400)
    # Reset in VERIFY_RESIZE: the guest has the new flavor, so the old claim goes.
    resized(cloud, server)
    act(cloud.admin, server, {"os-resetState": {"state": "active"}})
    current = settle(cloud.demo, server)
    assert (current["status"], current["flavor"]["id"]) == ("ACTIVE", SMALL)
    assert held(cloud, server) == ([(2048, 20)], [])
    assert node_usage_matches_allocations(cloud)


def quota_usage(cloud, server_id):
    """The (cores, ram) the server's project has in use."""
    rows = dict(query(cloud, "SELECT q.resource, q.in_use FROM quota_usages q JOIN instances "
                             "i ON i.project_id = q.project_id WHERE i.uuid = :u AND "
                             "q.user_id = '' AND q.resource IN ('cores', 'ram')",
                      u=server_id))
    return rows["cores"], rows["ram"]


def test_a_resize_counts_against_the_quota_and_a_revert_gives_it_back(cloud, server):
    project = cloud.demo.compute("GET", f"/servers/{server}").json()["server"]["tenant_id"]
    cores, ram = quota_usage(cloud, server)
    resized(cloud, server)
    assert quota_usage(cloud, server) == (cores, ram + 2048 - 512)
    act(cloud.demo, server, {"revertResize": None})
    settle(cloud.demo, server)
    assert quota_usage(cloud, server) == (cores, ram)
    before = cloud.admin.compute("GET", f"/os-quota-sets/{project}").json()["quota_set"]
    limit = cloud.admin.compute("PUT", f"/os-quota-sets/{project}",
                                json={"quota_set": {"cores": cores}})
    assert limit.status_code == 200, limit.text
    try:
        response = act(cloud.demo, server, {"resize": {"flavorRef": "3"}}, expect=403)
        assert "cores" in response.json()["forbidden"]["message"]
    finally:
        cloud.admin.compute("PUT", f"/os-quota-sets/{project}",
                            json={"quota_set": {"cores": before["cores"]}})
    current = settle(cloud.demo, server)
    assert (current["status"], current["flavor"]["id"]) == ("ACTIVE", TINY)
    assert held(cloud, server) == ([(512, 1)], [])
    assert node_usage_matches_allocations(cloud)
