"""``nova-lite network list``: the networks a server can be put on (through
the Networking v2 API in the catalog under type ``network``)."""
from nova_lite.cli import parsing, resolve, session

NETWORK = resolve.Kind(name="network", service=session.NETWORK,
                       get_path="/v2.0/networks/{}", get_key="network",
                       list_path="/v2.0/networks", list_key="networks",
                       name_query=lambda name: {"name": name})

COLUMNS = [
    ("ID", "id"),
    ("Name", "name"),
    ("Subnets", lambda n: ", ".join(n.get("subnets") or [])),
    ("External", "router:external"),
    ("Shared", "shared"),
]


def list_networks(client, out, args):
    out.list(COLUMNS, client.collect(session.NETWORK, NETWORK.list_path,
                                     NETWORK.list_key))


def register(top, common):
    actions = parsing.resource(top, "network", "Networks servers can be attached to")
    parsing.action(actions, "list", list_networks, "List networks", common)
    return actions
