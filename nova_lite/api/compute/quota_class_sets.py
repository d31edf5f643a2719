"""os-quota-class-sets: the ``default`` class's limits, which the projects
without limits of their own have (admin only); any other class name shows
the defaults (Nova's). What is shown follows Nova's microversions (``names``):
below 2.50 no server group limits; from 2.50 the server group ones and not
the network ones (a PUT naming one is 400); from 2.57 not the injected files
ones either."""
import functools

import flask

from nova_lite.api import validation
from nova_lite.api.compute import quota_sets
from nova_lite.api.middleware import microversion
from nova_lite.db import quotas
from nova_lite.db.session import reader, transaction

SERVER_GROUPS = ("server_groups", "server_group_members")


def names(version=None):
    """The resources a quota class shows at ``version`` (default: the request's)."""
    version = version or microversion.requested()
    if version < (2, 50):
        return tuple(name for name in quotas.COMPUTE if name not in SERVER_GROUPS)
    gone = quota_sets.NETWORK_RESOURCES + \
        (quota_sets.FILE_RESOURCES if version >= (2, 57) else ())
    return tuple(name for name in quotas.COMPUTE if name not in gone)


@functools.lru_cache(maxsize=None)
def update_schema_for(version):
    takes = quotas.COMPUTE if version < (2, 50) else names(version)
    return {
        "type": "object", "required": ["quota_class_set"], "additionalProperties": False,
        "properties": {"quota_class_set": {
            "type": "object", "additionalProperties": False,
            "properties": {name: quota_sets._LIMIT for name in takes},
        }},
    }


def update_schema():
    return update_schema_for(microversion.requested())


UPDATE_SCHEMA = update_schema_for((2, 1))


def _view(limits, class_name=None):
    body = {name: limits[name] for name in names()}
    if class_name is not None:
        body["id"] = class_name
    return body


def show(class_name):
    with reader() as session:
        limits = quotas.class_limits(session, class_name)
    return flask.jsonify({"quota_class_set": _view(limits, class_name)})


@validation.body(update_schema)
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
