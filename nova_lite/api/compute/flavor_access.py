"""os-flavor-access: which projects may see and boot a private flavor (admin).

    GET  /flavors/{id}/os-flavor-access        the projects granted it
    POST /flavors/{id}/action  {"addTenantAccess": {"tenant": P}}
                               {"removeTenantAccess": {"tenant": P}}

Who may: Nova's policy rules ``os_compute_api:os-flavor-access`` (the
route's, checked by the policy middleware),
``os_compute_api:os-flavor-access:add_tenant_access`` and
``os_compute_api:os-flavor-access:remove_tenant_access`` (the action's,
checked here); admins by default. The rules of access itself are
nova_lite/db/flavors.py."""
import flask

from nova_lite import exception
from nova_lite.api import policy, validation
from nova_lite.api.compute import flavors
from nova_lite.db import flavors as flavor_db
from nova_lite.db.session import reader, transaction

TENANT_SCHEMA = {
    "type": "object", "required": ["tenant"], "additionalProperties": False,
    "properties": {"tenant": {"type": "string", "minLength": 1, "maxLength": 255,
                              "pattern": r"^[a-zA-Z0-9-]*$"}},
}


def index(flavor_id):
    with reader() as session:
        flavor = flavors.find(session, flavor_id)
        access = flavor_db.access_list(session, flavor)
    return flask.jsonify({"flavor_access": access})


def _add(flavor_id, value):
    validation.check(TENANT_SCHEMA, value)
    with transaction() as session:
        flavor = flavors.find(session, flavor_id, for_update=True)
        flavor_db.add_access(session, flavor, value["tenant"])
    with reader() as session:
        access = flavor_db.access_list(session, flavors.find(session, flavor_id))
    return flask.jsonify({"flavor_access": access})


def _remove(flavor_id, value):
    validation.check(TENANT_SCHEMA, value)
    with transaction() as session:
        flavor = flavors.find(session, flavor_id, for_update=True)
        flavor_db.remove_access(session, flavor, value["tenant"])
    with reader() as session:
        access = flavor_db.access_list(session, flavors.find(session, flavor_id))
    return flask.jsonify({"flavor_access": access})


HANDLERS = {"addTenantAccess": _add, "removeTenantAccess": _remove}
RULES = {"addTenantAccess": "os_compute_api:os-flavor-access:add_tenant_access",
         "removeTenantAccess": "os_compute_api:os-flavor-access:remove_tenant_access"}


@policy.checked_in_handler(*RULES.values())
def action(flavor_id):
    body = validation.json_body()
    if not isinstance(body, dict) or len(body) != 1:
        raise exception.Invalid("The action body must be an object with exactly one "
                                "action, e.g. {\"addTenantAccess\": {\"tenant\": \"...\"}}.")
    (key, value), = body.items()
    handler = HANDLERS.get(key)
    if handler is None:
        raise exception.Invalid(f"There is no such action: {key}")
    policy.authorize(RULES[key])
    return handler(flavor_id, value)


def register(bp):
    bp.add_url_rule("/v2.1/flavors/<flavor_id>/os-flavor-access", "flavor_access", index)
    bp.add_url_rule("/v2.1/flavors/<flavor_id>/action", "flavor_action", action,
                    methods=["POST"])
