"""Image API version discovery, as Glance answers it: GET /image/ (300) and
GET /image/versions (200) list the v2 minor versions; keystoneauth picks the
CURRENT one and follows its ``self`` link to /image/v2/."""
import flask

from nova_lite.api import links
from nova_lite.api.middleware.auth import public

CURRENT = 7                     # v2.7: os_hidden and os_hash_* in the image view


def document():
    href = links.base_url() + "/image/v2/"
    return {"versions": [
        {"id": f"v2.{minor}", "status": "CURRENT" if minor == CURRENT else "SUPPORTED",
         "links": [{"rel": "self", "href": href}]}
        for minor in range(CURRENT, -1, -1)]}


@public
def index():
    response = flask.jsonify(document())
    response.status_code = 300
    return response


@public
def versions():
    return flask.jsonify(document())


def register(bp):
    bp.add_url_rule("/", "versions_root", index, strict_slashes=False)
    bp.add_url_rule("/versions", "versions", versions)
    bp.add_url_rule("/v2", "versions_v2", versions, strict_slashes=False)
