"""POST/GET/HEAD/DELETE /identity/v3/auth/tokens: log in, check a token."""
import hashlib

import flask
from sqlalchemy import select

from nova_lite import exception
from nova_lite.api import policy, validation
from nova_lite.api.identity import catalog, tokens
from nova_lite.api.middleware.auth import public
from nova_lite.db import models, passwords
from nova_lite.db.session import reader

DEFAULT_DOMAIN = {"id": "default", "name": "Default"}

_DOMAIN = {"type": "object", "properties": {"id": {"type": "string"},
                                             "name": {"type": "string"}}}
AUTH_SCHEMA = {
    "type": "object",
    "required": ["auth"],
    "properties": {"auth": {
        "type": "object",
        "required": ["identity"],
        "properties": {
            "identity": {
                "type": "object",
                "required": ["methods"],
                "properties": {
                    "methods": {"type": "array", "minItems": 1,
                                "items": {"enum": ["password", "token"]}},
                    "password": {"type": "object", "required": ["user"], "properties": {
                        "user": {"type": "object", "required": ["password"], "properties": {
                            "id": {"type": "string"}, "name": {"type": "string"},
                            "password": {"type": "string"}, "domain": _DOMAIN}}}},
                    "token": {"type": "object", "required": ["id"],
                              "properties": {"id": {"type": "string"}}},
                },
            },
            "scope": {"oneOf": [
                {"type": "string", "enum": ["unscoped"]},
                {"type": "object", "properties": {"project": {
                    "type": "object", "properties": {
                        "id": {"type": "string"}, "name": {"type": "string"},
                        "domain": _DOMAIN}}}}]},
        },
    }},
}


def _check_domain(domain):
    if domain and domain.get("id", "default") != "default" \
            and domain.get("name", "Default") != "Default":
        raise exception.NotAuthenticated("Only the Default domain exists.")
    if domain and "name" in domain and domain["name"] != "Default":
        raise exception.NotAuthenticated("Only the Default domain exists.")


def _authenticate(session, identity):
    if "password" in identity["methods"]:
        spec = identity.get("password", {}).get("user", {})
        _check_domain(spec.get("domain"))
        query = select(models.User)
        if spec.get("id"):
            query = query.where(models.User.id == spec["id"])
        elif spec.get("name"):
            query = query.where(models.User.name == spec["name"])
        else:
            raise exception.Invalid("A user id or name is required.")
        user = session.scalars(query).first()
        if user is None or not user.enabled \
                or not passwords.check_password(spec.get("password", ""), user.password_hash):
            raise exception.NotAuthenticated("The request you have made requires "
                                             "authentication.")
        return user, ["password"]
    claims = tokens.validate(identity.get("token", {}).get("id", ""))
    user = session.get(models.User, claims["user_id"])
    if user is None or not user.enabled:
        raise exception.NotAuthenticated("The user of this token no longer exists.")
    return user, ["token"]


def _scope(session, user, scope):
    if scope == "unscoped":
        return None
    if scope is None:
        if user.default_project_id is None:
            return None
        project = session.get(models.Project, user.default_project_id)
    else:
        spec = scope.get("project") or {}
        _check_domain(spec.get("domain"))
        if spec.get("id"):
            project = session.get(models.Project, spec["id"])
        elif spec.get("name"):
            project = session.scalars(select(models.Project)
                                      .where(models.Project.name == spec["name"])).first()
        else:
            raise exception.Invalid("A project id or name is required to scope a token.")
    if project is None or not project.enabled:
        raise exception.NotAuthenticated("The project to scope to is not found.")
    return project


def _roles(session, user, project):
    if project is None:
        return []
    roles = session.scalars(select(models.RoleAssignment.role).where(
        models.RoleAssignment.user_id == user.id,
        models.RoleAssignment.project_id == project.id)).all()
    if not roles:
        raise exception.NotAuthenticated(
            f"User {user.id} has no access to project {project.id}.")
    # Keystone's implied roles: admin implies member implies reader.
    implied = set(roles)
    if "admin" in implied:
        implied |= {"member", "reader"}
    if "member" in implied:
        implied.add("reader")
    return sorted(implied)


def role_ref(name):
    return {"id": hashlib.md5(name.encode()).hexdigest(), "name": name}


def token_body(claims):
    token = {
        "methods": claims["methods"],
        "user": {"id": claims["user_id"], "name": claims["user_name"],
                 "domain": DEFAULT_DOMAIN, "password_expires_at": None},
        "audit_ids": [claims["audit_id"]],
        "expires_at": claims["expires_at"],
        "issued_at": claims["issued_at"],
    }
    if claims.get("project_id"):
        token["project"] = {"id": claims["project_id"], "name": claims["project_name"],
                            "domain": DEFAULT_DOMAIN}
        token["is_domain"] = False
        token["roles"] = [role_ref(r) for r in claims["roles"]]
        token["catalog"] = catalog.build()
    return {"token": token}


@public
@validation.body(AUTH_SCHEMA)
def issue(body):
    auth = body["auth"]
    with reader() as session:
        user, methods = _authenticate(session, auth["identity"])
        project = _scope(session, user, auth.get("scope"))
        roles = _roles(session, user, project)
    token, claims = tokens.issue(user, project, roles, methods)
    response = flask.jsonify(token_body(claims))
    response.status_code = 201
    response.headers["X-Subject-Token"] = token
    return response


def _subject(rule):
    """The claims of the X-Subject-Token, once ``rule`` allows the caller
    to act on it (Keystone's target: the token's user; admins any)."""
    subject = flask.request.headers.get("X-Subject-Token")
    if not subject:
        raise exception.Invalid("X-Subject-Token header is required.")
    try:
        claims = tokens.validate(subject)
    except exception.NotAuthenticated:
        raise exception.NotFound("Could not find token.") from None
    policy.authorize(rule, {"target.token.user_id": claims["user_id"]})
    return subject, claims


@policy.checked_in_handler("identity:validate_token")
def show():
    subject, claims = _subject("identity:validate_token")
    response = flask.jsonify(token_body(claims))
    response.headers["X-Subject-Token"] = subject
    return response


@policy.checked_in_handler("identity:check_token")
def check():
    _subject("identity:check_token")
    return "", 200


@policy.checked_in_handler("identity:revoke_token")
def revoke():
    # Fernet tokens are self-contained; they lapse at expiry.
    _subject("identity:revoke_token")
    return "", 204


def register(bp):
    bp.add_url_rule("/v3/auth/tokens", "issue_token", issue, methods=["POST"])
    bp.add_url_rule("/v3/auth/tokens", "show_token", show, methods=["GET"])
    bp.add_url_rule("/v3/auth/tokens", "check_token", check, methods=["HEAD"])
    bp.add_url_rule("/v3/auth/tokens", "revoke_token", revoke, methods=["DELETE"])
