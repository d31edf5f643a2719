"""Server actions end to end (fake driver, services as processes): each moves
the server through Nova's states and is recorded in os-instance-actions;
actions in the wrong state get 409; console output comes back over an RPC
call; createImage produces an active image."""
import pytest

from tests.fixtures.cloud import create_server as create
from tests.fixtures.cloud import server_status, settle
from tests.fixtures.waiting import wait_for


def act(client, server_id, body, expect=202):
    response = client.compute("POST", f"/servers/{server_id}/action", json=body)
    assert response.status_code == expect, response.text
    return response


@pytest.fixture
def server(cloud, cloud_image):
    server_id = create(cloud.demo, cloud_image)
    status, body = wait_for(lambda: server_status(cloud.demo, server_id),
                            lambda s: s[0] in ("ACTIVE", "ERROR"))
    assert status == "ACTIVE", body
    yield server_id
    cloud.demo.compute("DELETE", f"/servers/{server_id}")


@pytest.mark.parametrize("steps", [
    [({"os-stop": None}, "SHUTOFF", 4), ({"os-start": None}, "ACTIVE", 1)],
    [({"pause": None}, "PAUSED", 3), ({"unpause": None}, "ACTIVE", 1)],
    [({"suspend": None}, "SUSPENDED", 7), ({"resume": None}, "ACTIVE", 1)],
    [({"reboot": {"type": "SOFT"}}, "ACTIVE", 1), ({"reboot": {"type": "HARD"}}, "ACTIVE", 1)],
    [({"os-stop": None}, "SHUTOFF", 4), ({"reboot": {"type": "HARD"}}, "ACTIVE", 1)],
])
def test_power_actions_move_the_server_through_its_states(cloud, server, steps):
    for body, status, power_state in steps:
        act(cloud.demo, server, body)
        current = settle(cloud.demo, server)
        assert current["status"] == status, (body, current)
        assert current["OS-EXT-STS:power_state"] == power_state
    names = [a["action"] for a in cloud.demo.compute(
        "GET", f"/servers/{server}/os-instance-actions").json()["instanceActions"]]
    assert names[-1] == "create"
    assert len(names) == len(steps) + 1


@pytest.mark.parametrize("first, second", [
    ({"os-start": None}, None),                    # already running
    ({"unpause": None}, None),                     # not paused
    ({"resume": None}, None),                      # not suspended
    ({"os-stop": None}, {"reboot": {"type": "SOFT"}}),   # soft reboot needs ACTIVE
])
def test_actions_in_the_wrong_state_are_409(cloud, server, first, second):
    if second is None:
        response = act(cloud.demo, server, first, expect=409)
    else:
        act(cloud.demo, server, first)
        settle(cloud.demo, server)
        response = act(cloud.demo, server, second, expect=409)
    assert "Cannot" in response.json()["conflictingRequest"]["message"]


@pytest.mark.parametrize("body", [
    {"os-stop": None, "os-start": None}, {"no-such-action": None},
    {"reboot": {"type": "GENTLE"}}, {"reboot": None}, {"createImage": {}},
    {"os-getConsoleOutput": {"length": "ten"}},
])
def test_bad_action_bodies_are_400(cloud, server, body):
    response = act(cloud.demo, server, body, expect=400)
    assert response.json()["badRequest"]["code"] == 400


def test_console_output_comes_back_over_a_call(cloud, server):
    response = act(cloud.demo, server, {"os-getConsoleOutput": {"length": 50}}, expect=200)
    assert "booted" in response.json()["output"]
    act(cloud.demo, server, {"reboot": {"type": "HARD"}})
    settle(cloud.demo, server)
    output = act(cloud.demo, server, {"os-getConsoleOutput": {}}, expect=200).json()["output"]
    assert "hard reboot" in output
    last = act(cloud.demo, server, {"os-getConsoleOutput": {"length": 1}},
               expect=200).json()["output"]
    assert last.strip() == "hard reboot"


def test_create_image_makes_an_active_snapshot(cloud, server):
    response = act(cloud.demo, server, {"createImage": {"name": "snap1",
                                                        "metadata": {"purpose": "test"}}})
    image_id = response.headers["Location"].rsplit("/", 1)[-1]
    settle(cloud.demo, server)
    image = wait_for(lambda: cloud.demo.image("GET", f"/images/{image_id}").json(),
                     lambda i: i.get("status") in ("active", "killed", "deleted"))
    assert image["status"] == "active", image
    assert image["instance_uuid"] == server
    assert image["purpose"] == "test"
    assert image["size"] > 0
    events = cloud.demo.compute("GET", f"/servers/{server}/os-instance-actions").json()
    assert events["instanceActions"][0]["action"] == "createImage"
    cloud.demo.image("DELETE", f"/images/{image_id}")


def test_instance_action_shows_events(cloud, server):
    actions = cloud.demo.compute("GET", f"/servers/{server}/os-instance-actions").json()
    request_id = actions["instanceActions"][-1]["request_id"]
    detail = cloud.demo.compute(
        "GET", f"/servers/{server}/os-instance-actions/{request_id}").json()
    events = [e["event"] for e in detail["instanceAction"]["events"]]
    assert "schedule_instances" in events and "compute_build_and_run_instance" in events
    assert all("traceback" not in e for e in detail["instanceAction"]["events"])


def test_console_output_from_a_host_that_does_not_answer_is_a_clear_503(cloud, server):
    host = cloud.admin.compute("GET", f"/servers/{server}").json()["server"][
        "OS-EXT-SRV-ATTR:host"]
    cloud.stop_service(f"compute-{host}")
    try:
        response = act(cloud.demo, server, {"os-getConsoleOutput": {}}, expect=503)
        assert f"compute host {host} did not answer" in \
            response.json()["serviceUnavailable"]["message"]
    finally:
        cloud.start_service(f"compute-{host}")
    # The restarted fake host has lost its guests; the power-state sync notices.
    wait_for(lambda: server_status(cloud.demo, server)[1]["OS-EXT-STS:power_state"],
             lambda power: power == 0, timeout=30)
