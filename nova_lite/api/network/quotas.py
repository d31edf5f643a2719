"""/v2.0/quotas: a project's Networking limits (network, subnet, port,
floatingip, security_group, security_group_rule), their defaults
(``/default``) and usage (``/details``); admins list the projects with
limits of their own, set them (PUT) and put them back to the defaults
(DELETE; ``check_limit`` refuses a limit below the usage). Neutron's bodies; an over-quota create answers 409 OverQuota (the
error middleware). Usage is counted by the database (nova_lite.db.quotas)."""
import flask

from nova_lite import exception
from nova_lite.api import context, validation
from nova_lite.api.network import params
from nova_lite.db import quotas
from nova_lite.db.session import reader, transaction


def _visible(project_id):
    """``get_quota`` on the project asked for (the policy middleware checked
    it on the caller's own)."""
    ctx = context.current()
    if project_id != ctx.project_id:
        ctx.authorize("get_quota", {"project_id": project_id})


def _view(limits):
    return {name: limits[name] for name in quotas.NETWORK}


def index():
    if not context.current().is_admin:      # Neutron's own check, in code
        raise exception.Forbidden("Only admin can view or configure quota")
    with reader() as session:
        projects = quotas.projects_with_limits(session)
        items = [dict(_view(quotas.limits(session, p)), project_id=p, tenant_id=p)
                 for p in projects]
    return flask.jsonify({"quotas": items})


def show(project_id):
    _visible(project_id)
    with reader() as session:
        limits = quotas.limits(session, project_id)
    return params.item("quota", _view(limits))


def defaults(project_id):
    _visible(project_id)
    with reader() as session:
        limits = (quotas.class_limits(session) if quotas.enforced()
                  else quotas.limits(session, project_id))
    return params.item("quota", _view(limits))


def details(project_id):
    _visible(project_id)
    with reader() as session:
        limits = quotas.limits(session, project_id)
        used = quotas.usage(session, project_id)
    return params.item("quota", {name: {"used": used[name], "limit": limits[name],
                                        "reserved": 0} for name in quotas.NETWORK})


def _values(spec):
    spec = {k: v for k, v in spec.items() if k != "check_limit"}
    unknown = sorted(set(spec) - set(quotas.NETWORK))
    if unknown:
        raise exception.Invalid("Unrecognized attribute(s) '%s'" % ", ".join(unknown))
    values = {}
    for name, value in spec.items():
        number = params.to_int(value, name)
        if number < -1:
            raise exception.Invalid(f"Invalid input for {name}. Reason: '{number}' is "
                                    "smaller than the minimum -1.")
        values[name] = number
    return values


def update(project_id):
    data = validation.json_body()
    if not isinstance(data, dict) or not isinstance(data.get("quota"), dict):
        raise exception.Invalid('Resource body required: {"quota": {...}}')
    values = _values(data["quota"])
    check = data["quota"].get("check_limit")
    with transaction() as session:
        # Neutron sets a limit below the usage without complaint (new creates
        # fail until enough is released), unless asked to check it
        # (``check_limit``, the quota-check-limit extension).
        quotas.set_limits(session, project_id, values,
                          force=not (check is not None
                                     and params.to_bool(check, "check_limit")))
    with reader() as session:
        limits = quotas.limits(session, project_id)
    return params.item("quota", _view(limits))


def delete(project_id):
    with transaction() as session:
        quotas.delete_limits(session, project_id, resources=quotas.NETWORK)
    return params.no_content()


def register(bp):
    bp.add_url_rule("/v2.0/quotas", "quotas", index)
    bp.add_url_rule("/v2.0/quotas/<project_id>", "quota", show)
    bp.add_url_rule("/v2.0/quotas/<project_id>/default", "quota_default", defaults)
    bp.add_url_rule("/v2.0/quotas/<project_id>/details", "quota_details", details)
    bp.add_url_rule("/v2.0/quotas/<project_id>", "update_quota", update, methods=["PUT"])
    bp.add_url_rule("/v2.0/quotas/<project_id>", "delete_quota", delete,
                    methods=["DELETE"])
