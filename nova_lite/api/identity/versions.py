"""Identity version discovery: GET /identity and /identity/v3."""
import flask

from nova_lite.api import links
from nova_lite.api.middleware.auth import public

UPDATED = "2024-01-01T00:00:00Z"


def _v3():
    return {
        "id": "v3.14", "status": "stable", "updated": UPDATED,
        "links": [{"rel": "self", "href": links.base_url() + "/identity/v3/"}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.identity-v3+json"}],
    }


@public
def index():
    response = flask.jsonify({"versions": {"values": [_v3()]}})
    response.status_code = 300
    return response


@public
def v3():
    return flask.jsonify({"version": _v3()})


def register(bp):
    bp.add_url_rule("/", "versions", index, strict_slashes=False)
    bp.add_url_rule("/v3", "v3", v3, strict_slashes=False)
