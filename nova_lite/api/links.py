"""Absolute URLs in responses (self/bookmark links, the catalog)."""
import flask

from nova_lite.conf import CONF


def base_url():
    """Where clients reach this API: [api] public_endpoint, else the request's
    host (worked out once per request: a page of servers has thousands of links)."""
    base = flask.g.get("base_url")
    if base is None:
        endpoint = CONF.api.public_endpoint
        base = flask.g.base_url = (endpoint or flask.request.host_url).rstrip("/")
    return base


def compute_links(collection, ident):
    base = base_url() + "/compute"
    return [{"rel": "self", "href": f"{base}/v2.1/{collection}/{ident}"},
            {"rel": "bookmark", "href": f"{base}/{collection}/{ident}"}]


def bookmark(collection, ident):
    return [{"rel": "bookmark", "href": f"{base_url()}/compute/{collection}/{ident}"}]
