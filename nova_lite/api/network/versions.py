"""Networking API version discovery, as Neutron answers it: GET /network/
lists v2.0 (openstacksdk follows its ``self`` link), GET /network/v2.0/ the
collections it serves."""
import flask

from nova_lite.api import links
from nova_lite.api.middleware.auth import public

COLLECTIONS = (("network", "networks"), ("subnet", "subnets"), ("port", "ports"),
               ("floatingip", "floatingips"), ("security_group", "security-groups"),
               ("security_group_rule", "security-group-rules"))


def v2_url():
    return links.base_url() + "/network/v2.0/"


@public
def index():
    return flask.jsonify({"versions": [
        {"id": "v2.0", "status": "CURRENT",
         "links": [{"href": v2_url(), "rel": "self"}]}]})


@public
def v2():
    return flask.jsonify({"resources": [
        {"name": name, "collection": collection,
         "links": [{"href": v2_url() + collection, "rel": "self"}]}
        for name, collection in COLLECTIONS]})


def register(bp):
    bp.add_url_rule("/", "versions", index, strict_slashes=False)
    bp.add_url_rule("/v2.0", "v2", v2, strict_slashes=False)
