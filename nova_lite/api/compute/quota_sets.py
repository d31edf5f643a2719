"""os-quota-sets: a project's (or a user's, ``?user_id=``) limits, its
defaults, its usage (``/detail``); admins set them (PUT) and put them back to
the defaults (DELETE). Bodies as Nova's: at 2.36 and later without the
network resources (fixed_ips, floating_ips, networks, security_groups,
security_group_rules: Neutron's), at 2.57 and later without the injected
files ones (``names``); a PUT naming a resource the version does not show is
refused (400). Limits and usage live in nova_lite.db.quotas (the database
counts usage itself)."""
import functools

import flask

from nova_lite import exception
from nova_lite.api import context, validation
from nova_lite.api.middleware import microversion
from nova_lite.db import quotas
from nova_lite.db.session import reader, transaction

_LIMIT = {"type": ["integer", "string"], "pattern": r"^-?[0-9]+$", "minimum": -1}
NETWORK_RESOURCES = ("fixed_ips", "floating_ips", "networks", "security_groups",
                     "security_group_rules")                 # gone at 2.36
FILE_RESOURCES = ("injected_files", "injected_file_content_bytes",
                  "injected_file_path_bytes")                 # gone at 2.57


def names(version=None):
    """The quota resources shown at ``version`` (default: the request's)."""
    version = version or microversion.requested()
    gone = (NETWORK_RESOURCES if version >= (2, 36) else ()) + \
        (FILE_RESOURCES if version >= (2, 57) else ())
    return tuple(name for name in quotas.COMPUTE if name not in gone)


@functools.lru_cache(maxsize=None)
def update_schema_for(version):
    return {
        "type": "object", "required": ["quota_set"], "additionalProperties": False,
        "properties": {"quota_set": {
            "type": "object", "additionalProperties": False,
            "properties": dict({name: _LIMIT for name in names(version)},
                               force={"type": ["boolean", "string"]}),
        }},
    }


def update_schema():
    return update_schema_for(microversion.requested())


UPDATE_SCHEMA = update_schema_for((2, 1))


def visible_project(project_id, rule):
    """The user asked for (``?user_id=``), once ``rule`` allows the caller
    the project asked for: the policy middleware checked it on the caller's
    own project, so another project is checked here, as Nova does."""
    ctx = context.current()
    if project_id != ctx.project_id:
        ctx.authorize(rule, {"project_id": project_id})
    return flask.request.args.get("user_id") or None


def compute_view(values, project_id=None):
    body = {name: values[name] for name in names()}
    if project_id is not None:
        body["id"] = project_id
    return body


def show(project_id):
    user_id = visible_project(project_id, "os_compute_api:os-quota-sets:show")
    with reader() as session:
        limits = quotas.limits(session, project_id, user_id)
    return flask.jsonify({"quota_set": compute_view(limits, project_id)})


def detail(project_id):
    user_id = visible_project(project_id, "os_compute_api:os-quota-sets:detail")
    with reader() as session:
        limits = quotas.limits(session, project_id, user_id)
        used = quotas.usage(session, project_id, user_id or context.current().user_id)
        if user_id is None:
            project_used = quotas.usage(session, project_id)
            used = dict(project_used, key_pairs=used["key_pairs"])
    body = {name: {"in_use": used.get(name, 0), "limit": limits[name], "reserved": 0}
            for name in names()}
    body["id"] = project_id
    return flask.jsonify({"quota_set": body})


def defaults(project_id):
    with reader() as session:
        limits = (quotas.class_limits(session) if quotas.enforced()
                  else quotas.limits(session, project_id))
    return flask.jsonify({"quota_set": compute_view(limits, project_id)})


def _force(value):
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "1", "yes", "on"):
        return True
    if str(value).lower() in ("false", "0", "no", "off"):
        return False
    raise exception.Invalid(f"Invalid input for field/attribute force. Value: {value}.")


@validation.body(update_schema)
def update(project_id, body):
    user_id = flask.request.args.get("user_id") or None
    spec = dict(body["quota_set"])
    force = _force(spec.pop("force", False))
    values = {name: int(value) for name, value in spec.items()}
    with transaction() as session:
        quotas.set_limits(session, project_id, values, user_id=user_id, force=force)
    with reader() as session:
        limits = quotas.limits(session, project_id, user_id)
    return flask.jsonify({"quota_set": compute_view(limits)})


def delete(project_id):
    user_id = flask.request.args.get("user_id") or None
    with transaction() as session:
        quotas.delete_limits(session, project_id, user_id,
                             resources=quotas.COMPUTE)
    return "", 202


def register(bp):
    bp.add_url_rule("/v2.1/os-quota-sets/<project_id>", "quota_set", show)
    bp.add_url_rule("/v2.1/os-quota-sets/<project_id>/detail", "quota_set_detail", detail)
    bp.add_url_rule("/v2.1/os-quota-sets/<project_id>/defaults", "quota_set_defaults",
                    defaults)
    bp.add_url_rule("/v2.1/os-quota-sets/<project_id>", "update_quota_set", update,
                    methods=["PUT"])
    bp.add_url_rule("/v2.1/os-quota-sets/<project_id>", "delete_quota_set", delete,
                    methods=["DELETE"])
