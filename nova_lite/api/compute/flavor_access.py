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


# action -> (how it changes the access list, the rule that allows it)
ACTIONS = {
    "addTenantAccess": (flavor_db.add_access,
                        "os_compute_api:os-flavor-access:add_tenant_access"),
    "removeTenantAccess": (flavor_db.remove_access,
                           "os_compute_api:os-flavor-access:remove_tenant_access"),
}


def _change(flavor_id, value, change):
    validation.check(TENANT_SCHEMA, value)
    with transaction() as session:
        flavor = flavors.find(session, flavor_id, for_update=True)
        change(session, flavor, value["tenant"])
    return index(flavor_id)


@policy.checked_in_handler(*(rule for _, rule in ACTIONS.values()))
def action(flavor_id):
    body = validation.json_body()
    if not isinstance(body, dict) or len(body) != 1:
        raise exception.Invalid("The action body must be an object with exactly one "
                                "action, e.g. {\"addTenantAccess\": {\"tenant\": \"...\"}}.")
    (key, value), = body.items()
    if key not in ACTIONS:
        raise exception.Invalid(f"There is no such action: {key}")
    change, rule = ACTIONS[key]
    policy.authorize(rule)
    return _change(flavor_id, value, change)


def register(bp):
    bp.add_url_rule("/v2.1/flavors/<flavor_id>/os-flavor-access", "flavor_access", index)
    bp.add_url_rule("/v2.1/flavors/<flavor_id>/action", "flavor_action", action,
                    methods=["POST"])
