"""``nova-lite server ...``: create (optionally waiting until ACTIVE), list,
show and delete servers through Compute v2.1 (the actions on a server are in
``server_actions``)."""
import base64
import re

from nova_lite.cli import errors, flavors, images, parsing, resolve, session, wait
from nova_lite.cli import networks as net_cli

SERVER = resolve.Kind(name="server", service=session.COMPUTE, get_path="/servers/{}",
                      get_key="server", list_path="/servers/detail",
                      list_key="servers",
                      # Nova's name filter is a regular expression: anchor it.
                      name_query=lambda name: {"name": f"^{re.escape(name)}$"})

DEFAULT_TIMEOUT = 600.0

POWER_STATES = {0: "NOSTATE", 1: "Running", 3: "Paused", 4: "Shutdown",
                6: "Crashed", 7: "Suspended"}


# -- pure helpers -------------------------------------------------------------

def counts(minimum, maximum):
    """``(min_count, max_count)`` from ``--min``/``--max`` (either may be None)."""
    low = minimum or 1
    high = maximum or low
    if low > high:
        raise errors.CliError(f"--min ({low}) must not be greater than --max ({high})")
    return low, high


def create_body(name, image_id, flavor_id, key_name=None, user_data=None,
                properties=(), min_count=1, max_count=1, networks=None):
    """The ``POST /servers`` body. ``networks``: a list of network ids,
    "auto", "none", or None (the API's default: the project's network)."""
    server = {"name": name, "imageRef": image_id, "flavorRef": flavor_id}
    if isinstance(networks, list):
        server["networks"] = [{"uuid": network_id} for network_id in networks]
    elif networks:
        server["networks"] = networks
    if key_name:
        server["key_name"] = key_name
    if user_data is not None:
        server["user_data"] = base64.b64encode(user_data).decode("ascii")
    if properties:
        server["metadata"] = dict(properties)
    if max_count > 1:
        server["min_count"] = min_count
        server["max_count"] = max_count
    return {"server": server}


def networks(server):
    """``{network: [address, ...]}`` from the server's ``addresses``."""
    return {net: [a.get("addr") for a in addrs]
            for net, addrs in (server.get("addresses") or {}).items()}


def power_state(server):
    """The power state by name (``Running``), as openstackclient shows it."""
    state = server.get("OS-EXT-STS:power_state")
    return POWER_STATES.get(state, state)


def _ref_id(ref):
    return ref.get("id") if isinstance(ref, dict) else (ref or None)


def named(ref, names):
    """``name (id)`` for a flavor/image reference, or just the id."""
    ident = _ref_id(ref)
    if not ident:
        return ""
    return f"{names[ident]} ({ident})" if ident in names else ident


def _ref(field):
    """A column getter: the id of the flavor/image the server refers to."""
    return lambda server: _ref_id(server.get(field)) or ""


def _ref_name(field, names, or_id=False):
    """A column getter: the name of the flavor/image (or its id when unknown
    and ``or_id``)."""
    return lambda server: names.get(_ref_id(server.get(field)),
                                    _ref(field)(server) if or_id else "")


def list_columns(long, flavor_names, image_names):
    if not long:
        return [("ID", "id"), ("Name", "name"), ("Status", "status"),
                ("Networks", networks),
                ("Image", _ref_name("image", image_names, or_id=True)),
                ("Flavor", _ref_name("flavor", flavor_names, or_id=True))]
    return [
        ("ID", "id"), ("Name", "name"), ("Status", "status"),
        ("Task State", "OS-EXT-STS:task_state"),
        ("Power State", power_state),
        ("Networks", networks),
        ("Image Name", _ref_name("image", image_names)), ("Image ID", _ref("image")),
        ("Flavor Name", _ref_name("flavor", flavor_names)), ("Flavor ID", _ref("flavor")),
        ("Availability Zone", "OS-EXT-AZ:availability_zone"),
        ("Host", "OS-EXT-SRV-ATTR:host"),
        ("Properties", "metadata"),
    ]


def display(server, flavor_names, image_names):
    """A server as ``server show`` prints it for people (as openstackclient does)."""
    shown = {k: v for k, v in server.items() if k not in ("links", "metadata")}
    shown["properties"] = server.get("metadata") or {}
    shown["flavor"] = named(server.get("flavor"), flavor_names)
    shown["image"] = named(server.get("image"), image_names)
    shown["addresses"] = networks(server)
    if "OS-EXT-STS:power_state" in server:
        shown["OS-EXT-STS:power_state"] = power_state(server)
    if "security_groups" in server:
        shown["security_groups"] = [g.get("name") for g in server["security_groups"]]
    return shown


# -- HTTP ---------------------------------------------------------------------

def name_maps(client):
    """``({flavor id: name}, {image id: name})``, best effort: a failure here only
    costs the names, the ids are still shown."""
    maps = []
    for kind in (flavors.FLAVOR, images.IMAGE):
        try:
            items = resolve.list_all(client, kind)
        except errors.CliError:
            items = []
        maps.append({item.get("id"): item.get("name") for item in items})
    return tuple(maps)


def fetch(client, server_id):
    """The server, or ``None`` once it is gone."""
    body = client.get_or_none(session.COMPUTE, f"/servers/{server_id}")
    return body["server"] if body else None


def watch(client, out, server, target, timeout, verb, state_of=wait.server_state):
    """Poll ``server`` until ``target`` with live progress ("<verb> server
    <name>"); return the ``wait.Outcome``."""
    title = f"{verb} server {server.get('name') or server['id']}"
    return wait.poll(lambda: fetch(client, server["id"]), target, timeout,
                     wait.Reporter(out.err, title), state_of=state_of)


def wait_for(client, out, server, target, timeout):
    """Poll ``server`` until ``target`` (wait.ACTIVE or wait.GONE) with live
    progress; a failure or timeout raises ``CliError``."""
    verb = "Deleting" if target == wait.GONE else "Building"
    outcome = watch(client, out, server, target, timeout, verb)
    message = wait.failure_message(outcome, target, timeout)
    if message:
        raise errors.CliError(message)
    return outcome.server


def for_each(out, names, act, settle, verb):
    """``act(name)`` for each server named, then ``settle(result)`` for each
    that worked (unless ``settle`` is None). One server: its error is raised;
    several: each failure is reported, then a summary error is raised."""
    done, failed = [], []
    for name in names:
        try:
            done.append((name, act(name)))
        except errors.CliError as exc:
            failed.append((name, exc))
    for name, result in done if settle else ():
        try:
            settle(result)
        except errors.CliError as exc:
            failed.append((name, exc))
    if failed and len(names) == 1:
        raise failed[0][1]
    for name, exc in failed:
        out.note(f"Failed to {verb} server with name or ID '{name}': {exc}")
    if failed:
        raise errors.CliError(f"{len(failed)} of {len(names)} servers failed to {verb}.")


def show(client, out, server, extra=None):
    flavor_names, image_names = name_maps(client) if out.format != "json" else ({}, {})
    item = {**server, **(extra or {})}
    out.show(item, display(item, flavor_names, image_names))


def _read_user_data(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise errors.CliError(f"Cannot read the user data file {path}: "
                              f"{exc.strerror}") from None


# -- commands -----------------------------------------------------------------

def create_server(client, out, args):
    min_count, max_count = counts(args.min, args.max)
    user_data = _read_user_data(args.user_data) if args.user_data else None
    flavor = resolve.find(client, flavors.FLAVOR, args.flavor)
    image = resolve.find(client, images.IMAGE, args.image)
    requested = args.nic
    if args.network:
        if args.nic:
            raise errors.CliError("--network and --nic cannot be used together")
        requested = [resolve.find(client, net_cli.NETWORK, n)["id"] for n in args.network]
    created = client.post(session.COMPUTE, "/servers", create_body(
        args.name, image["id"], flavor["id"], key_name=args.key_name,
        user_data=user_data, properties=args.property,
        min_count=min_count, max_count=max_count, networks=requested))["server"]
    extra = {"adminPass": created["adminPass"]} if created.get("adminPass") else None
    server = {"id": created["id"], "name": args.name}
    if args.wait:
        server = wait_for(client, out, server, wait.ACTIVE, args.timeout)
    else:
        server = fetch(client, created["id"]) or {**created, "name": args.name}
    show(client, out, server, extra)


def list_servers(client, out, args):
    params = {k: v for k, v in (("name", args.name), ("status", args.status),
                                ("limit", args.limit)) if v is not None}
    if args.all_projects:
        params["all_tenants"] = "True"
    servers = client.collect(session.COMPUTE, "/servers/detail", "servers",
                             params=params, follow=args.limit is None)
    flavor_names, image_names = ({}, {}) if args.no_name_lookup else name_maps(client)
    out.list(list_columns(args.long, flavor_names, image_names), servers)


def show_server(client, out, args):
    show(client, out, resolve.find(client, SERVER, args.server))


def delete_servers(client, out, args):
    def delete(name_or_id):
        server = resolve.find(client, SERVER, name_or_id)
        client.delete(session.COMPUTE, f"/servers/{server['id']}")
        return server

    def gone(server):
        wait_for(client, out, server, wait.GONE, args.timeout)

    for_each(out, args.servers, delete, gone if args.wait else None, "delete")


def add_wait_options(parser, what, subject="the server"):
    """``--wait`` (until ``subject`` ``what``) and ``--timeout``."""
    parser.add_argument("--wait", action="store_true",
                        help=f"wait until {subject} {what}, showing progress")
    parser.add_argument("--timeout", type=parsing.seconds, default=DEFAULT_TIMEOUT,
                        metavar="SECONDS",
                        help=f"give up waiting after this long (default: "
                             f"{DEFAULT_TIMEOUT:g})")


def register(top, common):
    """Add ``nova-lite server ...``; return its sub-parsers, for more actions."""
    actions = parsing.resource(top, "server", "Servers (virtual machines)")

    parser = parsing.action(actions, "create", create_server, "Create a server", common)
    parser.add_argument("name", metavar="NAME", help="name of the new server")
    parser.add_argument("--flavor", required=True, metavar="FLAVOR",
                        help="flavor (name or ID)")
    parser.add_argument("--image", required=True, metavar="IMAGE",
                        help="image to boot from (name or ID)")
    parser.add_argument("--key-name", metavar="KEY", help="key pair to inject")
    parser.add_argument("--user-data", metavar="FILE",
                        help="file to hand to the server as user data")
    parsing.add_property_option(parser, "server")
    parser.add_argument("--network", action="append", metavar="NETWORK",
                        help="attach a NIC on this network (name or ID; repeat for "
                             "more; default: the project's network)")
    parser.add_argument("--nic", choices=("auto", "none"),
                        help="'none': no NIC; 'auto': the project's network")
    parser.add_argument("--min", type=parsing.positive_int, metavar="N",
                        help="create at least N servers (default: 1)")
    parser.add_argument("--max", type=parsing.positive_int, metavar="N",
                        help="create at most N servers (default: --min)")
    add_wait_options(parser, "is ACTIVE")

    parser = parsing.action(actions, "list", list_servers, "List servers", common)
    parser.add_argument("--long", action="store_true", help="list more fields")
    parser.add_argument("--name", metavar="REGEX",
                        help="only servers whose name matches this regular expression")
    parser.add_argument("--status", metavar="STATUS",
                        help="only servers in this status (ACTIVE, BUILD, ERROR, ...)")
    parser.add_argument("--limit", type=parsing.positive_int, metavar="N",
                        help="list at most N servers (one page; default: all)")
    parser.add_argument("--all-projects", action="store_true",
                        help="servers of every project (admin only)")
    parser.add_argument("-n", "--no-name-lookup", action="store_true",
                        help="show flavor and image IDs without looking up names")

    parser = parsing.action(actions, "show", show_server, "Show a server", common)
    parser.add_argument("server", metavar="NAME_OR_ID", help="server (name or ID)")

    parser = parsing.action(actions, "delete", delete_servers, "Delete servers", common)
    parser.add_argument("servers", metavar="NAME_OR_ID", nargs="+",
                        help="server(s) to delete (name or ID)")
    add_wait_options(parser, "is gone")
    return actions
