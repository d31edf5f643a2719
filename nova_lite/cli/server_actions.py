"""``nova-lite server stop|start|pause|unpause|suspend|resume|reboot``,
``server resize`` (and ``resize confirm|revert``), ``server rebuild``,
``server console-log``, ``server image-create`` and ``server event list|show``:
the actions of ``POST /servers/{id}/action`` and the history of a server
(``os-instance-actions``).

The cloud accepts an action at once (202) and its host does it later.
``--wait`` polls until the task is over, then checks that it worked: the
server in its new status, no newer fault, and its os-instance-actions entry not
marked ``Error``."""
import dataclasses
import typing
import urllib.parse

from nova_lite.cli import (
    errors,
    flavors,
    images,
    parsing,
    resolve,
    servers,
    session,
    wait,
)

REQUEST_ID_HEADERS = ("X-Openstack-Request-Id", "X-Compute-Request-Id")


@dataclasses.dataclass(frozen=True)
class Action:
    """A power action: ``{key: null}`` (reboot: ``{"reboot": {"type": ...}}``)."""
    name: str      # the command, and the action's name in os-instance-actions
    key: str       # the action in the request body
    target: str    # the status once it is done
    verb: str      # for the progress line: "Stopping server web"
    many: bool = True   # takes several servers


POWER_ACTIONS = (
    Action("stop", "os-stop", "SHUTOFF", "Stopping"),
    Action("start", "os-start", "ACTIVE", "Starting"),
    Action("pause", "pause", "PAUSED", "Pausing"),
    Action("unpause", "unpause", "ACTIVE", "Unpausing"),
    Action("suspend", "suspend", "SUSPENDED", "Suspending"),
    Action("resume", "resume", "ACTIVE", "Resuming"),
)
REBOOT = Action("reboot", "reboot", "ACTIVE", "Rebooting", many=False)
RESIZE = Action("resize", "resize", "VERIFY_RESIZE", "Resizing", many=False)
CONFIRM = Action("confirmResize", "confirmResize", "ACTIVE", "Confirming the resize of",
                 many=False)
REVERT = Action("revertResize", "revertResize", "ACTIVE", "Reverting the resize of",
                many=False)
REBUILD = Action("rebuild", "rebuild", "ACTIVE", "Rebuilding", many=False)
SHUTDOWN = 4         # power_state: a stopped guest stays stopped through these

EVENT_COLUMNS = [("Request ID", "request_id"), ("Server ID", "instance_uuid"),
                 ("Action", "action"), ("Start Time", "start_time")]
EVENT_LONG_COLUMNS = EVENT_COLUMNS + [
    ("Message", "message"), ("Project ID", "project_id"), ("User ID", "user_id")]


# -- pure helpers -------------------------------------------------------------

def action_body(action, hard=False):
    """The body of a power action (``hard`` only matters for reboot)."""
    if action.key == REBOOT.key:
        return {"reboot": {"type": "HARD" if hard else "SOFT"}}
    return {action.key: None}


def resize_body(flavor_id):
    return {"resize": {"flavorRef": flavor_id}}


def rebuild_body(image_id, name=None, properties=(), password=None):
    """``rebuild``: the new image, and optionally a new name, metadata, password."""
    body = {"imageRef": image_id}
    if name:
        body["name"] = name
    if properties:
        body["metadata"] = dict(properties)
    if password:
        body["adminPass"] = password
    return {"rebuild": body}


def stays_stopped(action, server):
    """``action`` with the status it ends in for ``server``: a confirm, revert
    or rebuild of a stopped server ends SHUTOFF, as Nova leaves it."""
    if action in (CONFIRM, REVERT, REBUILD) and (
            server.get("OS-EXT-STS:power_state") == SHUTDOWN
            or (server.get("status") or "").upper() == "SHUTOFF"):
        return dataclasses.replace(action, target="SHUTOFF")
    return action


def console_body(lines=None):
    """``os-getConsoleOutput``: the last ``lines`` lines, or all of them."""
    return {"os-getConsoleOutput": {} if lines is None else {"length": lines}}


def image_body(name, properties=()):
    """``createImage``: properties become the snapshot's metadata."""
    image = {"name": name}
    if properties:
        image["metadata"] = dict(properties)
    return {"createImage": image}


def last_lines(text, lines=None):
    """The last ``lines`` lines of ``text`` (all for None), ending in a newline
    unless empty, as openstackclient prints a console log."""
    if lines is not None:
        text = "".join(text.splitlines(keepends=True)[-lines:])
    return text if not text or text.endswith("\n") else text + "\n"


def request_id(headers):
    """The request id the cloud gave a response, if any."""
    return next((headers[h] for h in REQUEST_ID_HEADERS if headers.get(h)), None)


def image_id(headers):
    """The new image's id: the last part of the ``Location`` header (Compute
    2.1 returns no body)."""
    location = (headers.get("Location") or "").rstrip("/")
    if not location:
        raise errors.CliError("The cloud accepted the snapshot but did not say which "
                              "image it is creating (no Location header)")
    return location.rsplit("/", 1)[-1]


def new_fault(before, after):
    """The message of a fault ``after`` shows that ``before`` did not, else None."""
    fault = (after or {}).get("fault")
    if not fault or fault == (before or {}).get("fault"):
        return None
    return fault.get("message") or "the server recorded no fault message"


def recorded_error(record, server_id):
    """Why an os-instance-actions entry says its action failed, else None."""
    if not record or record.get("message") != "Error":
        return None
    failed = [e.get("event") for e in record.get("events") or []
              if e.get("result") == "Error"]
    where = f" in {', '.join(failed)}" if failed else ""
    return (f"the cloud recorded the {record.get('action')} as Error{where} (see "
            f"`nova-lite server event show {server_id} {record.get('request_id')}`)")


def newest_request_id(entries, name):
    """The request id of the newest os-instance-actions entry for ``name``."""
    return next((e.get("request_id") for e in entries if e.get("action") == name), None)


def format_event(event):
    """One line per event: ``compute_stop_instance Success 2024-...``, with the
    last line of its traceback when the cloud shows it (admins)."""
    line = " ".join(str(event.get(k) or "") for k in ("event", "result", "finish_time"))
    traceback = (event.get("traceback") or "").strip()
    return f"{line}: {traceback.splitlines()[-1]}" if traceback else line


def event_display(record):
    """An os-instance-actions entry for people: its events one per line."""
    return {**record, "events": "\n".join(format_event(e)
                                          for e in record.get("events") or [])}


# -- HTTP ---------------------------------------------------------------------

class Started(typing.NamedTuple):
    """An action the cloud accepted."""
    server: dict      # the server as it was before
    response: object  # the HTTP response

    @property
    def request_id(self):
        return request_id(self.response.headers)


def find(client, name_or_id):
    return resolve.find(client, servers.SERVER, name_or_id)


def start(client, server, body):
    """``POST`` the action to ``server``."""
    return Started(server, client.request(session.COMPUTE, "POST",
                                          f"/servers/{server['id']}/action", json=body))


def _events_path(server_id, request=None):
    path = f"/servers/{server_id}/os-instance-actions"
    return f"{path}/{urllib.parse.quote(request, safe='')}" if request else path


def action_record(client, server_id, name, request=None):
    """The os-instance-actions entry (with events) of ``request``, else of the
    newest ``name`` action; None when the cloud has none. Best effort."""
    try:
        if request:
            body = client.get_or_none(session.COMPUTE, _events_path(server_id, request))
            if body:
                return body.get("instanceAction")
        entries = client.get(session.COMPUTE, _events_path(server_id))
        newest = newest_request_id(entries.get("instanceActions") or [], name)
        body = newest and client.get_or_none(session.COMPUTE,
                                             _events_path(server_id, newest))
        return (body or {}).get("instanceAction")
    except errors.CliError:
        return None


def recorded_reason(client, started, name):
    """Why the action's os-instance-actions entry says it failed, or None."""
    server_id = started.server["id"]
    return recorded_error(action_record(client, server_id, name, started.request_id),
                          server_id)


def why_failed(client, started, server, name):
    """Why an action whose task is over failed (a newer fault, or its record
    says Error), or None if nothing says it did."""
    return new_fault(started.server, server) or recorded_reason(client, started, name)


def failed_message(name, server, reason):
    return (f"The {name} of {wait.label(server)} failed (the server is "
            f"{wait.describe(server)}): {reason}")


def settle(client, out, started, action, timeout):
    """Wait until the action's task is over with the server in its target
    status; a failure or timeout raises ``CliError``."""
    outcome = servers.watch(client, out, started.server, action.target, timeout,
                            action.verb, lambda s: wait.action_state(s, action.target))
    message = wait.failure_message(outcome, action.target, timeout)
    if outcome.state in (wait.UNCHANGED, action.target):      # the task is over
        reason = why_failed(client, started, outcome.server, action.name)
        if reason:
            message = failed_message(action.name, outcome.server, reason)
    if message:
        raise errors.CliError(message)
    return outcome.server


def wait_for_image(client, out, image, timeout):
    """Poll the Image API until ``image`` is active; a failure (killed, deleted,
    gone) or timeout raises ``CliError``."""
    path = f"/v2/images/{image['id']}"
    outcome = wait.poll(lambda: client.get_or_none(session.IMAGE, path),
                        wait.IMAGE_ACTIVE, timeout,
                        wait.Reporter(out.err, f"Saving image {image['name']}"),
                        state_of=wait.image_state)
    outcome = outcome._replace(server=outcome.server or image)
    message = wait.failure_message(outcome, wait.IMAGE_ACTIVE, timeout, kind="image")
    if message:
        raise errors.CliError(message)
    return outcome.server


# -- commands -----------------------------------------------------------------

def power_command(action):
    """The command running ``action`` on each server given (``--wait``: and
    waiting for each)."""
    def run(client, out, args):
        body = action_body(action, args.hard)
        names = args.servers if action.many else [args.server]
        servers.for_each(
            out, names, lambda name: start(client, find(client, name), body),
            (lambda started: settle(client, out, started, action, args.timeout))
            if args.wait else None, action.name)
    return run


def _one_action(client, out, args, action, body):
    """Start ``action`` on the server; with ``--wait``, wait until it is done.
    The server as it is then (as the cloud answered, without ``--wait``)."""
    server = find(client, args.server)
    action = stays_stopped(action, server)
    started = start(client, server, body)
    if args.wait:
        return settle(client, out, started, action, args.timeout)
    return (started.response.json() if started.response.content else {}).get(
        "server", server)


def resize(client, out, args):
    """``server resize --flavor F SERVER``, ``server resize confirm|revert SERVER``."""
    words = args.words
    if len(words) == 2 and words[0] in ("confirm", "revert"):
        args.server = words[1]
        action = CONFIRM if words[0] == "confirm" else REVERT
        _one_action(client, out, args, action, {action.key: None})
        return
    if len(words) != 1:
        raise errors.CliError("usage: server resize --flavor FLAVOR SERVER, or server "
                              "resize confirm|revert SERVER")
    if not args.flavor:
        raise errors.CliError("server resize needs --flavor FLAVOR")
    args.server = words[0]
    flavor = resolve.find(client, flavors.FLAVOR, args.flavor)
    _one_action(client, out, args, RESIZE, resize_body(flavor["id"]))


def rebuild(client, out, args):
    """Prints the server, as ``openstack server rebuild`` does."""
    image = resolve.find(client, images.IMAGE, args.image)
    server = _one_action(client, out, args, REBUILD,
                         rebuild_body(image["id"], args.name, args.property,
                                      args.password))
    servers.show(client, out, server)


def console_log(client, out, args):
    server = find(client, args.server)
    body = client.post(session.COMPUTE, f"/servers/{server['id']}/action",
                       console_body(args.lines))
    text = last_lines(body.get("output") or "", args.lines)
    if out.format == "json":
        out.show({"output": text})
    else:
        out.console.file.write(text)     # as-is: no wrapping, no markup
        out.console.file.flush()


def image_create(client, out, args):
    server = find(client, args.server)
    name = args.name or server.get("name")
    started = start(client, server, image_body(name, args.property))
    image = {"id": image_id(started.response.headers), "name": name}
    if args.wait:
        try:
            image = wait_for_image(client, out, image, args.timeout)
        except errors.CliError as exc:
            reason = recorded_reason(client, started, "createImage")
            raise errors.CliError(f"{exc}: {reason}" if reason else str(exc)) from None
    else:
        image = client.get_or_none(session.IMAGE, f"/v2/images/{image['id']}") or image
    out.show(image, {"id": image["id"]} if out.format == "value" else None)


def event_list(client, out, args):
    server = find(client, args.server)
    entries = client.collect(session.COMPUTE, _events_path(server["id"]),
                             "instanceActions")
    out.list(EVENT_LONG_COLUMNS if args.long else EVENT_COLUMNS, entries)


def event_show(client, out, args):
    server = find(client, args.server)
    record = client.get(session.COMPUTE,
                        _events_path(server["id"], args.request_id))["instanceAction"]
    out.show(record, event_display(record))


# -- command line -------------------------------------------------------------

def _server_argument(parser, many):
    if many:
        parser.add_argument("servers", metavar="NAME_OR_ID", nargs="+",
                            help="server(s) (name or ID)")
    else:
        parser.add_argument("server", metavar="NAME_OR_ID", help="server (name or ID)")


def _register_power(actions, common, action, help_text):
    parser = parsing.action(actions, action.name, power_command(action), help_text,
                            common)
    _server_argument(parser, action.many)
    servers.add_wait_options(parser, f"is {action.target}")
    parser.set_defaults(hard=False)
    return parser


def register(actions, common):
    """Add the action commands to ``nova-lite server``'s ``actions``."""
    for action in POWER_ACTIONS:
        _register_power(actions, common, action,
                        f"{action.name.capitalize()} server(s)")

    parser = _register_power(actions, common, REBOOT,
                             "Reboot a server (soft by default)")
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--hard", action="store_true",
                      help="power-cycle the server")
    kind.add_argument("--soft", dest="hard", action="store_false",
                      help="ask the guest OS to restart (default)")

    parser = parsing.action(actions, "resize", resize,
                            "Resize a server to another flavor; `resize confirm|revert "
                            "SERVER` ends a resize in VERIFY_RESIZE", common)
    parser.add_argument("words", metavar="[confirm|revert] NAME_OR_ID", nargs="+",
                        help="server (name or ID), after confirm or revert for those")
    parser.add_argument("--flavor", metavar="FLAVOR", help="the new flavor (name or ID)")
    servers.add_wait_options(parser, "is resized (VERIFY_RESIZE), or the resize is "
                                     "confirmed or reverted")

    parser = parsing.action(actions, "rebuild", rebuild,
                            "Rebuild a server from an image", common)
    _server_argument(parser, many=False)
    parser.add_argument("--image", metavar="IMAGE", required=True,
                        help="the image to rebuild it from (name or ID)")
    parser.add_argument("--name", metavar="NAME", help="a new name for the server")
    parsing.add_property_option(parser, "server")
    parser.add_argument("--password", metavar="PASSWORD",
                        help="the new admin password (adminPass)")
    servers.add_wait_options(parser, "is rebuilt")

    parser = parsing.action(actions, "console-log", console_log,
                            "Show a server's console output", common)
    _server_argument(parser, many=False)
    parser.add_argument("--lines", type=parsing.positive_int, metavar="N",
                        help="only the last N lines (default: all)")

    parser = parsing.action(actions, "image-create", image_create,
                            "Create an image (snapshot) of a server", common)
    _server_argument(parser, many=False)
    parser.add_argument("--name", metavar="NAME",
                        help="name of the new image (default: the server's name)")
    parsing.add_property_option(parser, "image")
    servers.add_wait_options(parser, "is active", subject="the image")

    events = parsing.resource(actions, "event", "What was done to a server")
    parser = parsing.action(events, "list", event_list,
                            "List the actions done to a server", common)
    _server_argument(parser, many=False)
    parser.add_argument("--long", action="store_true", help="list more fields")
    parser = parsing.action(events, "show", event_show,
                            "Show an action done to a server, with its events", common)
    _server_argument(parser, many=False)
    parser.add_argument("request_id", metavar="REQUEST_ID",
                        help="request ID of the action (from `server event list`)")
