"""What Identity's resources look like in responses (Keystone v3's shapes)."""
import flask

from nova_lite.api import links

DEFAULT_DOMAIN_ID = "default"


def _self(path):
    return {"self": f"{links.base_url()}/identity/v3/{path}"}


def collection(name, items):
    return flask.jsonify({name: items, "links": {"self": flask.request.url, "next": None,
                                                 "previous": None}})


def project_view(project):
    return {"id": project.id, "name": project.name, "description": project.description,
            "domain_id": project.domain_id, "enabled": project.enabled,
            "is_domain": False, "parent_id": project.domain_id, "tags": [], "options": {},
            "links": _self(f"projects/{project.id}")}


def user_view(user):
    return {"id": user.id, "name": user.name, "domain_id": user.domain_id,
            "enabled": user.enabled, "default_project_id": user.default_project_id,
            "password_expires_at": None,
            "options": {"ignore_lockout_failure_attempts": True} if user.ignore_lockout
            else {},
            "links": _self(f"users/{user.id}")}


def role_view(role):
    return {"id": role.id, "name": role.name, "domain_id": None,
            "description": role.description, "options": {},
            "links": _self(f"roles/{role.id}")}


def domain_view():
    return {"id": DEFAULT_DOMAIN_ID, "name": "Default", "description": "The default domain",
            "enabled": True, "tags": [], "options": {},
            "links": _self(f"domains/{DEFAULT_DOMAIN_ID}")}


def app_cred_view(cred, role_rows):
    roles = {r.id: r for r in role_rows}
    return {"id": cred.id, "name": cred.name, "description": cred.description,
            "user_id": cred.user_id, "project_id": cred.project_id,
            "expires_at": cred.expires_at.strftime("%Y-%m-%dT%H:%M:%S.%f")
            if cred.expires_at else None,
            "unrestricted": cred.unrestricted, "access_rules": [], "system": None,
            "roles": [{"id": r, "name": roles[r].name, "domain_id": None}
                      for r in cred.roles if r in roles],
            "links": _self(f"users/{cred.user_id}/application_credentials/{cred.id}")}
