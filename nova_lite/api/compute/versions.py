"""Compute version discovery (keystoneauth negotiates microversions from these)."""
import flask

from nova_lite.api import links
from nova_lite.api.middleware import microversion
from nova_lite.api.middleware.auth import public


def _v21():
    return {
        "id": "v2.1",
        "status": "CURRENT",
        "version": microversion.fmt(microversion.MAX_VERSION),
        "min_version": microversion.fmt(microversion.MIN_VERSION),
        "updated": "2013-07-23T11:33:21Z",
        "links": [{"rel": "self", "href": links.base_url() + "/compute/v2.1/"},
                  {"rel": "describedby", "type": "text/html",
                   "href": "http://docs.openstack.org/"}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.compute+json;version=2.1"}],
    }


@public
def index():
    version = _v21()
    del version["media-types"]
    version["links"] = version["links"][:1]
    return flask.jsonify({"versions": [version]})


@public
def v21():
    return flask.jsonify({"version": _v21()})


def register(bp):
    bp.add_url_rule("/", "versions", index, strict_slashes=False)
    bp.add_url_rule("/v2.1", "v21", v21, strict_slashes=False)
