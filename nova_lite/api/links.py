"""Absolute URLs in responses (self/bookmark links, the catalog)."""
import flask

from nova_lite.conf import CONF


def base_url():
    """Where clients reach this API: [api] public_endpoint, else the request's host."""
    if CONF.api.public_endpoint:
        return CONF.api.public_endpoint.rstrip("/")
    return flask.request.host_url.rstrip("/")


def compute_links(collection, ident):
    base = base_url() + "/compute"
    return [{"rel": "self", "href": f"{base}/v2.1/{collection}/{ident}"},
            {"rel": "bookmark", "href": f"{base}/{collection}/{ident}"}]


def bookmark(collection, ident):
    return [{"rel": "bookmark", "href": f"{base_url()}/compute/{collection}/{ident}"}]
