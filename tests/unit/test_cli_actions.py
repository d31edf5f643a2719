"""nova-lite CLI: server actions (stop, start, ..., reboot, console-log,
image-create, event list/show): their command lines, the bodies they send, and
when waiting for them stops and what it says."""
import io
import json

import pytest
from rich.console import Console

from nova_lite.cli import errors, main, output, servers, wait
from nova_lite.cli import server_actions as sa

ENV = {"OS_AUTH_URL": "http://cloud/identity/v3", "OS_USERNAME": "alice",
       "OS_PASSWORD": "secret", "OS_PROJECT_NAME": "demo"}
TASK = "OS-EXT-STS:task_state"
REQ = "req-1"


def parse(*argv):
    return main.build_parser(ENV).parse_args(list(argv))


def server(status="ACTIVE", task=None, fault=None):
    body = {"id": "s1", "name": "web", "status": status, TASK: task}
    if fault:
        body["fault"] = {"code": 500, "message": fault, "created": "2024-01-01T00:00:00Z"}
    return body


def record(message=None, action="stop", events=()):
    return {"action": action, "request_id": REQ, "message": message,
            "events": [{"event": name, "result": result} for name, result in events]}


class Response:
    def __init__(self, headers=None):
        self.headers = headers or {}


class FakeClient:
    """The HTTP calls a command makes: GETs answered from ``pages`` (a path
    maps to one body, or to a list of bodies returned in turn); every request
    recorded in ``calls``."""

    def __init__(self, pages=None, headers=None, post_body=None):
        self.pages = {"/servers/web": {"server": server()}, **(pages or {})}
        self.headers = {"X-Openstack-Request-Id": REQ, **(headers or {})}
        self.post_body = post_body or {}
        self.calls = []

    def get_or_none(self, service, path, **kwargs):
        self.calls.append(("GET", path, None))
        page = self.pages.get(path)
        return page.pop(0) if isinstance(page, list) and len(page) > 1 else (
            page[0] if isinstance(page, list) else page)

    def get(self, service, path, **kwargs):
        page = self.get_or_none(service, path)
        if page is None:
            raise errors.ApiError("Not found", 404)
        return page

    def collect(self, service, path, key, **kwargs):
        return self.get(service, path)[key]

    def request(self, service, method, path, json=None, **kwargs):
        self.calls.append((method, path, json))
        return Response(self.headers)

    def post(self, service, path, body, **kwargs):
        self.request(service, "POST", path, json=body)
        return self.post_body

    def posted(self):
        return [body for method, _, body in self.calls if method == "POST"]


def run(argv, client, fmt=None):
    """Run a command line against ``client``; return (stdout, stderr)."""
    args = parse(*argv)
    stdout, stderr = io.StringIO(), io.StringIO()
    out = output.Output(fmt or args.format, stdout=stdout, stderr=stderr)
    args.func(client, out, args)
    return stdout.getvalue(), stderr.getvalue()


# -- command lines ------------------------------------------------------------

@pytest.mark.parametrize("name, target", [
    ("stop", "SHUTOFF"), ("start", "ACTIVE"), ("pause", "PAUSED"),
    ("unpause", "ACTIVE"), ("suspend", "SUSPENDED"), ("resume", "ACTIVE"),
])
def test_power_action_command_lines(name, target):
    args = parse("server", name, "web", "db", "--wait", "--timeout", "30")
    assert args.servers == ["web", "db"]
    assert (args.wait, args.timeout, args.hard) == (True, 30.0, False)
    action = {a.name: a for a in sa.POWER_ACTIONS}[name]
    assert action.target == target
    defaults = parse("server", name, "web")
    assert (defaults.wait, defaults.timeout) == (False, servers.DEFAULT_TIMEOUT)


@pytest.mark.parametrize("argv, hard", [
    ([], False), (["--soft"], False), (["--hard"], True), (["--hard", "--wait"], True),
])
def test_reboot_command_line(argv, hard):
    args = parse("server", "reboot", "web", *argv)
    assert args.server == "web" and args.hard is hard


@pytest.mark.parametrize("argv", [
    ["server", "stop"],                                   # no server
    ["server", "reboot", "web", "--hard", "--soft"],      # both kinds
    ["server", "reboot", "web", "db"],                    # one server only
    ["server", "console-log", "web", "--lines", "0"],
    ["server", "console-log", "web", "--lines", "ten"],
    ["server", "image-create", "web", "--property", "novalue"],
    ["server", "event", "show", "web"],                   # no request id
    ["server", "stop", "web", "--timeout", "-1"],
])
def test_bad_command_lines_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        parse(*argv)
    assert exc.value.code == 2


def test_console_log_image_create_and_event_command_lines():
    args = parse("server", "console-log", "web", "--lines", "5", "-f", "json")
    assert (args.server, args.lines, args.format) == ("web", 5, "json")
    assert parse("server", "console-log", "web").lines is None
    args = parse("server", "image-create", "web", "--name", "snap", "--property", "a=1",
                 "--wait")
    assert (args.name, args.property, args.wait) == ("snap", [("a", "1")], True)
    assert parse("server", "image-create", "web").name is None
    args = parse("server", "event", "list", "web", "--long", "-f", "value")
    assert args.func is sa.event_list and args.long and args.format == "value"
    args = parse("server", "event", "show", "web", REQ)
    assert args.func is sa.event_show and args.request_id == REQ


# -- request bodies -----------------------------------------------------------

@pytest.mark.parametrize("argv, body", [
    (["stop"], {"os-stop": None}), (["start"], {"os-start": None}),
    (["pause"], {"pause": None}), (["unpause"], {"unpause": None}),
    (["suspend"], {"suspend": None}), (["resume"], {"resume": None}),
    (["reboot"], {"reboot": {"type": "SOFT"}}),
    (["reboot", "--hard"], {"reboot": {"type": "HARD"}}),
    (["console-log"], {"os-getConsoleOutput": {}}),
    (["console-log", "--lines", "3"], {"os-getConsoleOutput": {"length": 3}}),
    (["image-create", "--name", "snap"], {"createImage": {"name": "snap"}}),
    (["image-create", "--property", "a=1", "--property", "b=2"],
     {"createImage": {"name": "web", "metadata": {"a": "1", "b": "2"}}}),
])
def test_each_command_posts_its_action(argv, body):
    client = FakeClient(headers={"Location": "http://cloud/image/v2/images/i1"})
    run(["server", argv[0], "web", *argv[1:]], client)
    assert client.posted() == [body]
    assert all(path == "/servers/s1/action" for m, path, _ in client.calls if m == "POST")


def test_several_servers_each_get_the_action():
    client = FakeClient({"/servers/db": {"server": {**server(), "id": "s2"}}})
    run(["server", "stop", "web", "db"], client)
    assert [(p, b) for m, p, b in client.calls if m == "POST"] == [
        ("/servers/s1/action", {"os-stop": None}),
        ("/servers/s2/action", {"os-stop": None})]


def test_a_failed_server_among_several_is_reported_and_the_rest_done():
    client = FakeClient()
    with pytest.raises(errors.CliError, match="1 of 2 servers failed to stop"):
        run(["server", "stop", "nope", "web"], client)
    assert client.posted() == [{"os-stop": None}]


@pytest.mark.parametrize("headers, image_id", [
    ({"Location": "http://cloud/image/v2/images/abc"}, "abc"),
    ({"Location": "http://cloud/image/v2/images/abc/"}, "abc"),
])
def test_image_id_from_location(headers, image_id):
    assert sa.image_id(headers) == image_id


def test_image_id_without_location():
    with pytest.raises(errors.CliError, match="no Location header"):
        sa.image_id({})


def test_request_id():
    assert sa.request_id({"X-Openstack-Request-Id": "req-a"}) == "req-a"
    assert sa.request_id({"X-Compute-Request-Id": "req-b"}) == "req-b"
    assert sa.request_id({}) is None


# -- console --lines ----------------------------------------------------------

@pytest.mark.parametrize("text, lines, shown", [
    ("a\nb\nc\n", None, "a\nb\nc\n"),
    ("a\nb\nc\n", 2, "b\nc\n"),
    ("a\nb\nc\n", 10, "a\nb\nc\n"),
    ("a\nb\nc", 1, "c\n"),                 # a final newline is added
    ("a\r\nb\r\n", 1, "b\r\n"),            # kept as the guest wrote it
    ("", 3, ""),
])
def test_last_lines(text, lines, shown):
    assert sa.last_lines(text, lines) == shown


def test_console_log_prints_the_output_as_is():
    raw = "[ 0.0] boot [ok] <b>\x1b[0m\n  indented\n"
    client = FakeClient(post_body={"output": raw})
    stdout, _ = run(["server", "console-log", "web"], client)
    assert stdout == raw
    stdout, _ = run(["server", "console-log", "web", "-f", "json"], client)
    assert json.loads(stdout) == {"output": raw}


def test_console_log_trims_a_longer_answer():
    client = FakeClient(post_body={"output": "1\n2\n3\n"})
    assert run(["server", "console-log", "web", "--lines", "1"], client)[0] == "3\n"


# -- when waiting for an action stops -----------------------------------------

@pytest.mark.parametrize("body, target, state", [
    (server("ACTIVE", "powering-off"), "SHUTOFF", wait.PENDING),
    (server("SHUTOFF"), "SHUTOFF", "SHUTOFF"),
    (server("ACTIVE"), "SHUTOFF", wait.UNCHANGED),            # the stop failed
    (server("PAUSED"), "PAUSED", "PAUSED"),
    (server("ACTIVE", "pausing"), "PAUSED", wait.PENDING),
    (server("SUSPENDED"), "ACTIVE", wait.UNCHANGED),          # resume failed
    (server("REBOOT", "reboot_pending"), "ACTIVE", wait.PENDING),
    (server("HARD_REBOOT", "reboot_pending_hard"), "ACTIVE", wait.PENDING),
    (server("ACTIVE"), "ACTIVE", "ACTIVE"),
    (server("ERROR", "powering-off"), "SHUTOFF", wait.PENDING),   # stop from ERROR
    (server("ERROR", fault="boom"), "SHUTOFF", wait.ERROR),
    (None, "ACTIVE", wait.GONE),
])
def test_action_state(body, target, state):
    assert wait.action_state(body, target) == state


@pytest.mark.parametrize("state, verdict", [
    ("SHUTOFF", wait.DONE), (wait.UNCHANGED, wait.FAILED), (wait.ERROR, wait.FAILED),
    (wait.GONE, wait.FAILED), (wait.PENDING, wait.CONTINUE),
])
def test_decide_for_an_action(state, verdict):
    assert wait.decide(state, "SHUTOFF", 1, 10) == verdict


def poll_action(bodies, target, timeout=60):
    clock = {"now": 0.0}
    seen = iter(bodies)
    return wait.poll(lambda: next(seen), target, timeout,
                     wait.Reporter(Console(file=io.StringIO()), "Stopping server web"),
                     state_of=lambda s: wait.action_state(s, target),
                     clock=lambda: clock["now"],
                     sleep=lambda s: clock.update(now=clock["now"] + s))


def test_poll_action_until_the_target():
    outcome = poll_action([server("ACTIVE", "powering-off"), server("SHUTOFF")],
                          "SHUTOFF")
    assert outcome == wait.Outcome(wait.DONE, "SHUTOFF", server("SHUTOFF"))


def test_poll_action_times_out_while_the_task_runs():
    outcome = poll_action([server("ACTIVE", "powering-off")] * 10, "SHUTOFF", timeout=3)
    assert outcome.verdict == wait.TIMED_OUT
    assert wait.failure_message(outcome, "SHUTOFF", 3) == (
        "Timed out after 3 s waiting for server web (s1) to become SHUTOFF; "
        "it is still ACTIVE, task powering-off")


def test_poll_action_task_over_without_the_target():
    outcome = poll_action([server("ACTIVE", "powering-off"), server("ACTIVE")], "SHUTOFF")
    assert (outcome.verdict, outcome.state) == (wait.FAILED, wait.UNCHANGED)
    assert wait.failure_message(outcome, "SHUTOFF", 60) == \
        "server web (s1) did not become SHUTOFF: it is ACTIVE"


def settle(pages, target="SHUTOFF", name="stop", before=None):
    """Run ``settle`` for an action whose server GETs return ``pages`` (the
    task already over: polling itself is tested above with a fake clock)."""
    client = FakeClient({"/servers/s1": [{"server": s} for s in pages], **EVENTS})
    action = sa.Action(name, "x", target, "Doing")
    started = sa.Started(before or server(), Response({"X-Openstack-Request-Id": REQ}))
    return sa.settle(client, output.Output(stderr=io.StringIO()), started, action, 60)


EVENTS = {f"/servers/s1/os-instance-actions/{REQ}": {"instanceAction": record()}}


def test_settle_done():
    assert settle([server("SHUTOFF")]) == server("SHUTOFF")


def test_settle_recorded_error(monkeypatch):
    failed = {"instanceAction": record("Error",
                                       events=[("compute_stop_instance", "Error")])}
    monkeypatch.setitem(EVENTS, f"/servers/s1/os-instance-actions/{REQ}", failed)
    with pytest.raises(errors.CliError) as exc:
        settle([server("ACTIVE")])
    assert str(exc.value) == (
        "The stop of server web (s1) failed (the server is ACTIVE): the cloud "
        "recorded the stop as Error in compute_stop_instance (see "
        f"`nova-lite server event show s1 {REQ}`)")


def test_settle_reboot_failed_with_the_status_unchanged(monkeypatch):
    monkeypatch.setitem(EVENTS, f"/servers/s1/os-instance-actions/{REQ}",
                        {"instanceAction": record("Error", action="reboot")})
    with pytest.raises(errors.CliError, match="The reboot of server web .* failed"):
        settle([server("ACTIVE")], target="ACTIVE", name="reboot")


def test_settle_unchanged_without_a_record():
    with pytest.raises(errors.CliError) as exc:
        settle([server("ACTIVE")])
    assert str(exc.value) == "server web (s1) did not become SHUTOFF: it is ACTIVE"


def test_settle_error_shows_the_fault():
    with pytest.raises(errors.CliError) as exc:
        settle([server("ERROR", fault="stop failed: disk gone")])
    assert str(exc.value) == "server web (s1) is in ERROR: stop failed: disk gone"


def test_settle_newer_fault_is_the_reason():
    before = server("ERROR", fault="old")
    with pytest.raises(errors.CliError, match="failed .*: new trouble"):
        settle([server("ACTIVE", fault="new trouble")], target="ACTIVE", name="reboot",
               before=before)


def test_settle_server_deleted():
    with pytest.raises(errors.CliError, match="was deleted before it became SHUTOFF"):
        settle([None])


def test_new_fault():
    old = server("ERROR", fault="old")
    assert sa.new_fault(old, old) is None
    assert sa.new_fault(server(), server()) is None
    assert sa.new_fault(old, server("ERROR", fault="new")) == "new"
    assert sa.new_fault(server(), server("ERROR", fault="new")) == "new"


def test_recorded_error():
    assert sa.recorded_error(None, "s1") is None
    assert sa.recorded_error(record(), "s1") is None
    assert sa.recorded_error(record("Error"), "s1") == (
        "the cloud recorded the stop as Error "
        f"(see `nova-lite server event show s1 {REQ}`)")


def test_action_record_falls_back_to_the_newest_entry_of_the_action():
    client = FakeClient({"/servers/s1/os-instance-actions": {"instanceActions": [
        {"action": "start", "request_id": "req-3"},
        {"action": "stop", "request_id": "req-2"},
        {"action": "stop", "request_id": "req-0"}]},
        "/servers/s1/os-instance-actions/req-2": {"instanceAction": record("Error")}})
    assert sa.action_record(client, "s1", "stop", "req-unknown")["message"] == "Error"
    assert sa.action_record(client, "s1", "pause", None) is None


# -- image-create --wait ------------------------------------------------------

@pytest.mark.parametrize("image, state", [
    ({"status": "queued"}, wait.PENDING), ({"status": "saving"}, wait.PENDING),
    ({"status": "active"}, wait.IMAGE_ACTIVE), ({"status": "killed"}, wait.ERROR),
    ({"status": "deleted"}, wait.ERROR), (None, wait.GONE),
])
def test_image_state(image, state):
    assert wait.image_state(image) == state


def image_create(pages, fmt="table", wait_for_it=True):
    client = FakeClient({"/v2/images/i1": pages, **EVENTS},
                        headers={"Location": "http://cloud/image/v2/images/i1"})
    argv = ["server", "image-create", "web", "--name", "snap"]
    return run(argv + (["--wait"] if wait_for_it else []), client, fmt)


def test_image_create_waits_until_active():
    stdout, _ = image_create([{"id": "i1", "name": "snap", "status": "active"}], "json")
    assert json.loads(stdout)["status"] == "active"


def test_image_create_value_prints_the_id():
    stdout, _ = image_create([{"id": "i1", "name": "snap", "status": "queued"}], "value",
                             wait_for_it=False)
    assert stdout == "i1\n"


def test_image_create_fails_when_the_image_goes_away(monkeypatch):
    monkeypatch.setitem(EVENTS, f"/servers/s1/os-instance-actions/{REQ}", {
        "instanceAction": record("Error", "createImage",
                                 [("compute_snapshot_instance", "Error")])})
    with pytest.raises(errors.CliError) as exc:
        image_create([None])
    assert str(exc.value).startswith(
        "image snap (i1) was deleted before it became active: the cloud recorded the "
        "createImage as Error in compute_snapshot_instance")


def test_image_create_fails_when_the_image_is_killed():
    with pytest.raises(errors.CliError, match=r"image snap \(i1\) is killed"):
        image_create([{"id": "i1", "name": "snap", "status": "killed"}])


# -- events -------------------------------------------------------------------

def test_event_list_columns():
    entries = [{"action": "stop", "request_id": "req-2", "instance_uuid": "s1",
                "start_time": "t2", "message": None, "project_id": "p", "user_id": "u"}]
    client = FakeClient({"/servers/s1/os-instance-actions": {"instanceActions": entries}})
    stdout, _ = run(["server", "event", "list", "web", "-f", "json"], client)
    assert json.loads(stdout) == [{"Request ID": "req-2", "Server ID": "s1",
                                   "Action": "stop", "Start Time": "t2"}]
    stdout, _ = run(["server", "event", "list", "web", "--long", "-f", "json"], client)
    assert json.loads(stdout)[0]["User ID"] == "u"


def test_event_show_lists_the_events_one_per_line():
    shown = sa.event_display({"action": "stop", "events": [
        {"event": "compute_stop_instance", "result": "Error", "finish_time": "t1",
         "traceback": "Traceback...\nRuntimeError: boom\n"},
        {"event": "other", "result": "Success", "finish_time": "t2"}]})
    assert shown["events"] == ("compute_stop_instance Error t1: RuntimeError: boom\n"
                               "other Success t2")


def test_resize_and_rebuild_bodies():
    assert sa.resize_body("2") == {"resize": {"flavorRef": "2"}}
    assert sa.rebuild_body("img") == {"rebuild": {"imageRef": "img"}}
    assert sa.rebuild_body("img", "web", [("a", "b")], "pw") == {"rebuild": {
        "imageRef": "img", "name": "web", "metadata": {"a": "b"}, "adminPass": "pw"}}


@pytest.mark.parametrize("action, shown, target", [
    (sa.CONFIRM, server("VERIFY_RESIZE") | {"OS-EXT-STS:power_state": 4}, "SHUTOFF"),
    (sa.CONFIRM, server("VERIFY_RESIZE") | {"OS-EXT-STS:power_state": 1}, "ACTIVE"),
    (sa.REVERT, server("VERIFY_RESIZE") | {"OS-EXT-STS:power_state": 4}, "SHUTOFF"),
    (sa.REBUILD, server("SHUTOFF"), "SHUTOFF"),
    (sa.REBUILD, server("ERROR"), "ACTIVE"),
    (sa.RESIZE, server("SHUTOFF"), "VERIFY_RESIZE"),
])
def test_a_stopped_server_stays_stopped_through_confirm_revert_and_rebuild(
        action, shown, target):
    assert sa.stays_stopped(action, shown).target == target


def test_resize_command_lines():
    args = parse("server", "resize", "--flavor", "m1.small", "web", "--wait")
    assert (args.words, args.flavor, args.wait) == (["web"], "m1.small", True)
    args = parse("server", "resize", "confirm", "web")
    assert (args.words, args.flavor) == (["confirm", "web"], None)
    args = parse("server", "rebuild", "web", "--image", "cirros", "--property", "a=b",
                 "--password", "pw")
    assert (args.server, args.image, args.property, args.password) == (
        "web", "cirros", [("a", "b")], "pw")
