"""``nova-lite flavor ...``: list the flavors (instance sizes) of the cloud."""
from nova_lite.cli import parsing, resolve, session

# Nova lists public flavors only by default; is_public=None means all (the
# private ones of the caller's projects too, or every one for an admin).
ALL = {"is_public": "None"}
FLAVOR = resolve.Kind(name="flavor", service=session.COMPUTE, get_path="/flavors/{}",
                      get_key="flavor", list_path="/flavors/detail",
                      list_key="flavors", list_params=ALL)

COLUMNS = [
    ("ID", "id"),
    ("Name", "name"),
    ("RAM", "ram"),
    ("Disk", "disk"),
    ("Ephemeral", "OS-FLV-EXT-DATA:ephemeral"),
    ("VCPUs", "vcpus"),
    ("Is Public", "os-flavor-access:is_public"),
]


def list_flavors(client, out, args):
    out.list(COLUMNS, client.collect(session.COMPUTE, FLAVOR.list_path, FLAVOR.list_key,
                                     params=ALL if args.all else None))


def register(top, common):
    actions = parsing.resource(top, "flavor", "Flavors: the sizes servers come in")
    parser = parsing.action(actions, "list", list_flavors, "List flavors", common)
    parser.add_argument("--all", action="store_true",
                        help="list private flavors too (default: public only)")
