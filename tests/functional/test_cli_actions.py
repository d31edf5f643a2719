"""The real ``nova-lite`` executable driving server actions end to end: the
services run as processes (``cloud``: fake virt driver), so every action is
done by a compute host and ``--wait`` sees the server move through its states.

The tests share one server and run in order: create, power actions, console,
snapshot, history, a wrong-state error, delete."""
import json
import os

import pytest

from tests.fixtures.cli import NOVA_LITE, as_json, fails, ok, unique
from tests.fixtures.cloud import openstack_env, settle

WAIT = ("--wait", "--timeout", "60")


@pytest.fixture(scope="module")
def demo(cloud):
    assert os.path.exists(NOVA_LITE), f"{NOVA_LITE} is missing: pip install -e ."
    return openstack_env(cloud.url, "demo")


@pytest.fixture(scope="module")
def server(cloud, cloud_image, demo):
    """A server made with ``server create --wait`` (deleted by the last test,
    or here if a test failed before it)."""
    name = unique("act")
    created = as_json(demo, "server", "create", name, "--flavor", "m1.tiny",
                      "--image", "e2e-tiny", *WAIT, timeout=90)
    yield created
    cloud.demo.compute("DELETE", f"/servers/{created['id']}")


def status(env, server_id):
    shown = as_json(env, "server", "show", server_id)
    return shown["status"], shown["OS-EXT-STS:task_state"]


def test_create_wait_ends_active(server):
    assert server["status"] == "ACTIVE"
    assert server["OS-EXT-STS:task_state"] is None


@pytest.mark.parametrize("command, expected", [
    ("stop", "SHUTOFF"), ("start", "ACTIVE"), ("pause", "PAUSED"),
    ("unpause", "ACTIVE"), ("suspend", "SUSPENDED"), ("resume", "ACTIVE"),
])
def test_power_action_wait_reaches_its_status(demo, server, command, expected):
    proc = ok(demo, "server", command, server["name"], *WAIT, timeout=90)
    assert proc.stdout == ""
    assert status(demo, server["id"]) == (expected, None)


@pytest.mark.parametrize("kind", [(), ("--hard",)])
def test_reboot_wait(demo, server, kind):
    ok(demo, "server", "reboot", server["id"], *kind, *WAIT, timeout=90)
    assert status(demo, server["id"]) == ("ACTIVE", None)


def test_wrong_state_action_is_the_409_message(demo, server):
    error = fails(demo, "server", "start", server["id"])
    # Nova names the compute API method ('start'), not the body key ('os-start').
    assert error.startswith(f"Error: Cannot 'start' instance {server['id']} while it "
                            "is in vm_state active (HTTP 409, request id req-")


def test_console_log(demo, server):
    proc = ok(demo, "server", "console-log", server["name"])
    assert any("booted" in line for line in proc.stdout.splitlines())
    assert "hard reboot" in proc.stdout
    last = ok(demo, "server", "console-log", server["id"], "--lines", "1").stdout
    assert last == "hard reboot\n"
    assert as_json(demo, "server", "console-log", server["id"], "--lines", "1") == \
        {"output": "hard reboot\n"}


def test_image_create_wait_gives_an_active_image(cloud, demo, server):
    name = unique("snap")
    image = as_json(demo, "server", "image-create", server["name"], "--name", name,
                    "--property", "purpose=cli-test", *WAIT, timeout=90)
    try:
        assert image["status"] == "active" and image["name"] == name
        assert image["instance_uuid"] == server["id"]
        assert image["purpose"] == "cli-test"
        listed = {i["ID"]: i for i in as_json(demo, "image", "list")}
        assert listed[image["id"]]["Status"] == "active"
    finally:
        cloud.demo.image("DELETE", f"/images/{image['id']}")


def test_image_create_value_prints_only_the_id(cloud, demo, server):
    image_id = ok(demo, "server", "image-create", server["id"], "--name", unique("snap"),
                  "-f", "value").stdout.strip()
    settle(cloud.demo, server["id"])         # the snapshot runs on: let it end
    try:
        assert cloud.demo.image("GET", f"/images/{image_id}").status_code == 200
    finally:
        cloud.demo.image("DELETE", f"/images/{image_id}")


def test_event_list_and_show(demo, server):
    events = as_json(demo, "server", "event", "list", server["name"])
    actions = [e["Action"] for e in events]
    assert actions[-1] == "create"
    assert {"stop", "start", "pause", "unpause", "suspend", "resume", "reboot",
            "createImage"} <= set(actions)
    assert all(e["Server ID"] == server["id"] for e in events)
    stop = next(e for e in events if e["Action"] == "stop")
    detail = as_json(demo, "server", "event", "show", server["id"], stop["Request ID"])
    assert detail["action"] == "stop" and detail["message"] is None
    assert [e["event"] for e in detail["events"]] == ["compute_stop_instance"]
    table = ok(demo, "server", "event", "show", server["id"], stop["Request ID"]).stdout
    assert "compute_stop_instance Success" in table
    long = json.loads(ok(demo, "server", "event", "list", server["id"], "--long",
                         "-f", "json").stdout)
    assert "Message" in long[0]


def test_event_show_unknown_request(demo, server):
    error = fails(demo, "server", "event", "show", server["id"], "req-nope")
    assert "req-nope" in error and "HTTP 404" in error


def test_resize_wait_then_revert_then_resize_and_confirm(demo, server):
    ok(demo, "server", "resize", "--flavor", "m1.small", server["name"], *WAIT, timeout=90)
    shown = as_json(demo, "server", "show", server["id"])
    assert (shown["status"], shown["flavor"]["id"]) == ("VERIFY_RESIZE", "2")
    ok(demo, "server", "resize", "revert", server["id"], *WAIT, timeout=90)
    shown = as_json(demo, "server", "show", server["id"])
    assert (shown["status"], shown["flavor"]["id"]) == ("ACTIVE", "1")
    ok(demo, "server", "resize", "--flavor", "2", server["id"], *WAIT, timeout=90)
    ok(demo, "server", "resize", "confirm", server["name"], *WAIT, timeout=90)
    shown = as_json(demo, "server", "show", server["id"])
    assert (shown["status"], shown["flavor"]["id"]) == ("ACTIVE", "2")
    error = fails(demo, "server", "resize", "confirm", server["id"])
    assert error.startswith(f"Error: Cannot 'confirmResize' instance {server['id']} "
                            "while it is in vm_state active (HTTP 409")
    assert "needs --flavor" in fails(demo, "server", "resize", server["id"])


def test_rebuild_wait(demo, server):
    shown = as_json(demo, "server", "rebuild", server["id"], "--image", "e2e-tiny",
                    "--name", server["name"], "--property", "rebuilt=yes", *WAIT,
                    timeout=90)
    assert (shown["status"], shown["metadata"]) == ("ACTIVE", {"rebuilt": "yes"})
    events = [e["Action"] for e in as_json(demo, "server", "event", "list", server["id"])]
    assert events[0] == "rebuild"


def test_delete_wait(demo, server):
    ok(demo, "server", "delete", server["id"], *WAIT, timeout=90)
    assert "No server with a name or ID" in fails(demo, "server", "stop", server["id"])
