"""``limit`` / ``marker`` paging (keyset: the marker is the last item's key)."""
import urllib.parse

import flask

from nova_lite import exception
from nova_lite.conf import CONF


def limit():
    raw = flask.request.args.get("limit")
    if raw is None:
        return CONF.api.max_limit
    try:
        value = int(raw)
    except ValueError:
        raise exception.Invalid(f"limit must be an integer, not {raw!r}") from None
    if value < 0:
        raise exception.Invalid("limit must be >= 0")
    return min(value, CONF.api.max_limit)


def marker():
    return flask.request.args.get("marker")


def next_link(collection_url, items, page_limit, key="id"):
    """A ``next`` link when the page is full, as Nova writes it."""
    if not items or len(items) < page_limit:
        return None
    args = [(k, v) for k, v in flask.request.args.items(multi=True) if k != "marker"]
    args.append(("marker", items[-1][key]))
    return [{"rel": "next", "href": f"{collection_url}?{urllib.parse.urlencode(args)}"}]
