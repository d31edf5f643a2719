"""Role assignments: PUT/HEAD/DELETE /v3/projects/{p}/users/{u}/roles/{r},
GET /v3/projects/{p}/users/{u}/roles, GET /v3/role_assignments (filters
user.id, scope.project.id, role.id; effective adds the implied roles;
include_names). Removing one revokes the user's tokens on the project."""
import flask

from nova_lite.api import links
from nova_lite.api.identity.views import collection, role_view
from nova_lite.db import identity

_DOMAIN = {"id": "default", "name": "Default"}


def _truthy(name):
    value = flask.request.args.get(name)
    return value is not None and value.lower() not in ("0", "false", "no")


def grant(project_id, user_id, role_id):
    """identity:create_grant (admin)."""
    identity.grant(project_id, user_id, role_id)
    return "", 204


def check_grant(project_id, user_id, role_id):
    """identity:check_grant (admin)."""
    return "", 204 if identity.has_grant(project_id, user_id, role_id) else 404


def revoke_grant(project_id, user_id, role_id):
    """identity:revoke_grant (admin)."""
    identity.revoke_grant(project_id, user_id, role_id)
    return "", 204


def list_grants(project_id, user_id):
    """identity:list_grants (admin)."""
    rows = identity.assignments(user_id=user_id, project_id=project_id)
    return collection("roles", [role_view(role) for _, _, role, _ in rows])


def _assignment(user, project, role, prior, names):
    base = f"{links.base_url()}/identity/v3"
    entry = {"role": {"id": role.id}, "user": {"id": user.id},
             "scope": {"project": {"id": project.id}},
             "links": {"assignment": f"{base}/projects/{project.id}/users/{user.id}/"
                                     f"roles/{(prior or role).id}"}}
    if prior is not None:
        entry["links"]["prior_role"] = f"{base}/roles/{prior.id}"
    if names:
        entry["role"]["name"] = role.name
        entry["user"].update(name=user.name, domain=_DOMAIN)
        entry["scope"]["project"].update(name=project.name, domain=_DOMAIN)
    return entry


def list_assignments():
    """identity:list_role_assignments (admin)."""
    args = flask.request.args
    rows = identity.assignments(user_id=args.get("user.id"),
                                project_id=args.get("scope.project.id"),
                                role_id=args.get("role.id"), effective=_truthy("effective"))
    names = _truthy("include_names")
    return collection("role_assignments", [_assignment(*row, names) for row in rows])


def register(bp):
    rule = "/v3/projects/<project_id>/users/<user_id>/roles/<role_id>"
    bp.add_url_rule(rule, "grant_role", grant, methods=["PUT"])
    bp.add_url_rule(rule, "check_grant", check_grant, methods=["HEAD"])
    bp.add_url_rule(rule, "revoke_grant", revoke_grant, methods=["DELETE"])
    bp.add_url_rule("/v3/projects/<project_id>/users/<user_id>/roles", "list_grants",
                    list_grants)
    bp.add_url_rule("/v3/role_assignments", "list_role_assignments", list_assignments)
