"""Turning a NAME_OR_ID given on the command line into one resource: try it as
an id, else list by name; a name that matches several resources or none is a
clear error."""
import dataclasses
import urllib.parse

from nova_lite.cli import errors


@dataclasses.dataclass(frozen=True)
class Kind:
    """How to look up one kind of resource over HTTP."""
    name: str                  # "flavor", used in messages
    service: str               # catalog service type
    get_path: str              # "/flavors/{}"
    get_key: str               # key wrapping the GET body ("flavor"), None if bare
    list_path: str             # "/flavors/detail"
    list_key: str              # "flavors"
    list_params: dict = None   # query parameters of every listing
    name_query: object = None  # name -> query parameters narrowing the list to it


def pick(kind_name, items, name_or_id):
    """The one item whose id, else whose name, is ``name_or_id``."""
    for item in items:
        if item.get("id") == name_or_id:
            return item
    named = [item for item in items if item.get("name") == name_or_id]
    if len(named) == 1:
        return named[0]
    if not named:
        raise errors.CliError(f"No {kind_name} with a name or ID of "
                              f"'{name_or_id}' exists.")
    ids = ", ".join(str(item.get("id")) for item in named)
    raise errors.CliError(f"More than one {kind_name} exists with the name "
                          f"'{name_or_id}' ({ids}); use an ID instead.")


def find(client, kind, name_or_id):
    """The resource ``name_or_id`` refers to, fetched over HTTP."""
    try:
        body = client.get(kind.service,
                          kind.get_path.format(urllib.parse.quote(name_or_id, safe="")))
    except errors.ApiError as exc:
        if exc.status not in (400, 404):     # 400: not even a valid id
            raise
    else:
        return body[kind.get_key] if kind.get_key else body
    named = kind.name_query(name_or_id) if kind.name_query else {}
    return pick(kind.name, list_all(client, kind, named), name_or_id)


def list_all(client, kind, params=None):
    """Every resource of this kind the caller may see (all pages)."""
    query = {**(kind.list_params or {}), **(params or {})} or None
    return client.collect(kind.service, kind.list_path, kind.list_key, params=query)
