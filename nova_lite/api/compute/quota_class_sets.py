"""os-quota-class-sets: the ``default`` class's limits, which the projects
without limits of their own have (admin only). Nova at 2.1 shows no server
group limits here; any other class name shows the defaults (Nova's)."""
import flask

from nova_lite.api import validation
from nova_lite.api.compute import quota_sets
from nova_lite.db import quotas
from nova_lite.db.session import reader, transaction

SHOWN = tuple(name for name in quotas.COMPUTE
              if name not in ("server_groups", "server_group_members"))
UPDATE_SCHEMA = {
    "type": "object", "required": ["quota_class_set"], "additionalProperties": False,
    "properties": {"quota_class_set": {
        "type": "object", "additionalProperties": False,
        "properties": {name: quota_sets._LIMIT for name in quotas.COMPUTE},
    }},
}


def _view(limits, class_name=None):
    body = {name: limits[name] for name in SHOWN}
    if class_name is not None:
        body["id"] = class_name
    return body


def show(class_name):
    with reader() as session:
        limits = quotas.class_limits(session, class_name)
    return flask.jsonify({"quota_class_set": _view(limits, class_name)})


@validation.body(UPDATE_SCHEMA)
def update(class_name, body):
    values = {name: int(value) for name, value in body["quota_class_set"].items()}
    with transaction() as session:
        quotas.set_class_limits(session, values, class_name)
    with reader() as session:
        limits = quotas.class_limits(session, class_name)
    return flask.jsonify({"quota_class_set": _view(limits)})


def register(bp):
    bp.add_url_rule("/v2.1/os-quota-class-sets/<class_name>", "quota_class_set", show)
    bp.add_url_rule("/v2.1/os-quota-class-sets/<class_name>", "update_quota_class_set",
                    update, methods=["PUT"])
