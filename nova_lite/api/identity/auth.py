"""POST/GET/HEAD/DELETE /identity/v3/auth/tokens: log in (password, token,
application_credential), check a token, log out (revoke it)."""
import flask
from sqlalchemy import select

from nova_lite import exception
from nova_lite.api import policy, validation
from nova_lite.api.identity import catalog, tokens
from nova_lite.api.middleware.auth import public
from nova_lite.db import identity as identity_db
from nova_lite.db import models
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
                                "items": {"enum": ["password", "token",
                                                           "application_credential"]}},
                    "password": {"type": "object", "required": ["user"], "properties": {
                        "user": {"type": "object", "required": ["password"], "properties": {
                            "id": {"type": "string"}, "name": {"type": "string"},
                            "password": {"type": "string"}, "domain": _DOMAIN}}}},
                    "token": {"type": "object", "required": ["id"],
                              "properties": {"id": {"type": "string"}}},
                    "application_credential": {
                        "type": "object", "required": ["secret"], "properties": {
                            "id": {"type": "string"}, "name": {"type": "string"},
                            "secret": {"type": "string"},
                            "user": {"type": "object", "properties": {
                                "id": {"type": "string"}, "name": {"type": "string"},
                                "domain": _DOMAIN}}}},
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
        if not spec.get("id") and not spec.get("name"):
            raise exception.Invalid("A user id or name is required.")
        user = identity_db.authenticate_password(spec.get("id"), spec.get("name"),
                                                 spec.get("password", ""))
        return user, ["password"]
    claims = tokens.validate(identity.get("token", {}).get("id", ""))
    if claims.get("app_cred_id"):
        raise exception.Forbidden("A token from an application credential cannot be "
                                  "rescoped.")
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
    roles = identity_db.role_names(session, user.id, project.id)
    if not roles:
        raise exception.NotAuthenticated(
            f"User {user.id} has no access to project {project.id}.")
    return identity_db.implied(roles)


def role_ref(session_roles, name):
    role = session_roles.get(name)
    return {"id": role.id if role else name, "name": name}


def _role_refs(names):
    with reader() as session:
        rows = {r.name: r for r in session.scalars(
            select(models.Role).where(models.Role.name.in_(names))).all()}
    return [role_ref(rows, name) for name in names]


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
        token["roles"] = _role_refs(claims["roles"])
        token["catalog"] = catalog.build()
    if claims.get("app_cred_id"):
        token["application_credential"] = {"id": claims["app_cred_id"],
                                           "name": claims.get("app_cred_name"),
                                           "restricted": True}
    return {"token": token}


@public
@validation.body(AUTH_SCHEMA)
def issue(body):
    auth = body["auth"]
    identity = auth["identity"]
    app_cred = None
    if "application_credential" in identity["methods"]:
        spec = identity.get("application_credential") or {}
        user_spec = spec.get("user") or {}
        _check_domain(user_spec.get("domain"))
        if not spec.get("id") and not (spec.get("name") and user_spec):
            raise exception.Invalid("An application credential id, or name and user, "
                                    "is required.")
        user, project, roles, app_cred = identity_db.authenticate_app_cred(
            spec.get("id"), spec.get("name"), user_spec.get("id"), user_spec.get("name"),
            spec.get("secret", ""))
        methods = ["application_credential"]
        if auth.get("scope"):
            # Its project only (clients may name it); anything else: 401.
            with reader() as session:
                asked = _scope(session, user, auth["scope"])
            if asked is None or asked.id != project.id:
                raise exception.NotAuthenticated("An application credential token is "
                                                 "scoped to its own project only.")
    else:
        with reader() as session:
            user, methods = _authenticate(session, identity)
            project = _scope(session, user, auth.get("scope"))
            roles = _roles(session, user, project)
    token, claims = tokens.issue(user, project, roles, methods, app_cred=app_cred)
    response = flask.jsonify(token_body(claims))
    response.status_code = 201
    response.headers["X-Subject-Token"] = token
    return response


def _subject(rule):
    """The claims of X-Subject-Token, if ``rule`` lets the caller see them
    (Keystone's identity:validate_token, :check_token, :revoke_token: admin,
    service or the token's own user, target ``target.token.user_id``); 403
    else, and 404 for a token that is not valid (once the caller may ask)."""
    subject = flask.request.headers.get("X-Subject-Token")
    if not subject:
        raise exception.Invalid("X-Subject-Token header is required.")
    try:
        claims = tokens.validate(subject)
    except exception.NotAuthenticated:
        claims = None
    policy.authorize(rule, {"target.token.user_id": claims["user_id"] if claims else None})
    if claims is None:
        raise exception.NotFound("Could not find token.")
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
    """Logout: the token stops working at once, on every worker."""
    _, claims = _subject("identity:revoke_token")
    identity_db.revoke_token(claims["audit_id"])
    return "", 204


def register(bp):
    bp.add_url_rule("/v3/auth/tokens", "issue_token", issue, methods=["POST"])
    bp.add_url_rule("/v3/auth/tokens", "show_token", show, methods=["GET"])
    bp.add_url_rule("/v3/auth/tokens", "check_token", check, methods=["HEAD"])
    bp.add_url_rule("/v3/auth/tokens", "revoke_token", revoke, methods=["DELETE"])
