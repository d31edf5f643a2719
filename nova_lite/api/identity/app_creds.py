"""Application credentials: POST/GET/DELETE
/v3/users/{id}/application_credentials[/{id}], the user's own only. The
secret is shown once (at creation) and kept as a hash; the roles are a
subset of the creator's token's roles on its project. The
``application_credential`` auth method (nova_lite.api.identity.auth) gives
a token on that project with those roles."""
import datetime

import flask
from sqlalchemy import select

from nova_lite import exception
from nova_lite.api import context, policy, validation
from nova_lite.api.identity.views import app_cred_view, collection
from nova_lite.db import identity, models
from nova_lite.db.session import reader

CREATE = {"type": "object", "required": ["application_credential"], "properties": {
    "application_credential": {"type": "object", "required": ["name"], "properties": {
        "name": validation.NAME, "description": {"type": ["string", "null"]},
        "secret": {}, "expires_at": {"type": ["string", "null"]},
        "unrestricted": {"type": "boolean"}, "access_rules": {"type": "array",
                                                              "maxItems": 0},
        "roles": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}}}}}}}}


def _owner(user_id, action, rule):
    """Keystone's rule for ``rule`` on the path's user (``target.user.id``),
    then the user's own only (admins included)."""
    policy.authorize(f"identity:{rule}", {"target.user.id": user_id})
    ctx = context.current()
    if not ctx.is_user(user_id):
        raise exception.Forbidden(f"{action}: a user manages only its own application "
                                  "credentials.")
    return ctx


def _roles():
    with reader() as session:
        return session.scalars(select(models.Role)).all()


def _expiry(text):
    if text is None:
        return None
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise exception.Invalid("expires_at is not an ISO 8601 time.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


@validation.body(CREATE)
@policy.checked_in_handler("identity:create_application_credential")
def create(user_id, body):
    """identity:create_application_credential (the user itself)."""
    ctx = _owner(user_id, "Creating an application credential", "create_application_credential")
    if ctx.app_cred_id:
        raise exception.Forbidden("A token from an application credential cannot "
                                  "create application credentials.")
    spec = body["application_credential"]
    secret = spec.get("secret")
    if secret is not None and (not isinstance(secret, str) or not secret):
        raise exception.Invalid("Invalid input for field secret: a non-empty string "
                                "is required.")
    cred, secret = identity.create_app_cred(
        user_id, ctx.project_id, ctx.roles, spec["name"], secret,
        spec.get("description"), _expiry(spec.get("expires_at")), spec.get("roles"),
        spec.get("unrestricted", False))
    view = app_cred_view(cred, _roles())
    view["secret"] = secret
    response = flask.jsonify({"application_credential": view})
    response.status_code = 201
    return response


@policy.checked_in_handler("identity:list_application_credentials")
def list_app_creds(user_id):
    """identity:list_application_credentials (the user itself)."""
    _owner(user_id, "Listing application credentials", "list_application_credentials")
    roles = _roles()
    return collection("application_credentials", [
        app_cred_view(c, roles) for c in identity.app_creds(user_id,
                                                            flask.request.args.get("name"))])


@policy.checked_in_handler("identity:get_application_credential")
def show_app_cred(user_id, cred_id):
    """identity:get_application_credential (the user itself)."""
    _owner(user_id, "Showing an application credential", "get_application_credential")
    return flask.jsonify({"application_credential": app_cred_view(
        identity.app_cred(user_id, cred_id), _roles())})


@policy.checked_in_handler("identity:delete_application_credential")
def delete_app_cred(user_id, cred_id):
    """identity:delete_application_credential (the user itself). Its tokens
    are revoked."""
    _owner(user_id, "Deleting an application credential", "delete_application_credential")
    identity.delete_app_cred(user_id, cred_id)
    return "", 204


def register(bp):
    base = "/v3/users/<user_id>/application_credentials"
    bp.add_url_rule(base, "create_application_credential", create, methods=["POST"])
    bp.add_url_rule(base, "list_application_credentials", list_app_creds)
    bp.add_url_rule(base + "/<cred_id>", "show_application_credential", show_app_cred)
    bp.add_url_rule(base + "/<cred_id>", "delete_application_credential", delete_app_cred,
                    methods=["DELETE"])
