"""Users: POST/GET/PATCH/DELETE /v3/users[/{id}], a user's own password
change (POST /v3/users/{id}/password) and projects (GET /v3/users/{id}/projects).

Passwords go to nova_lite.db.passwords only; no response or error message
repeats one (the schemas accept any value and the handler says "a string"
without echoing it)."""
import flask
from sqlalchemy import select

from nova_lite import exception
from nova_lite.api import context, policy, validation
from nova_lite.api.identity.views import collection, project_view, user_view
from nova_lite.db import identity, models
from nova_lite.db.session import reader

_USER = {"type": "object", "properties": {
    "name": validation.NAME, "password": {}, "enabled": {"type": "boolean"},
    "default_project_id": {"type": ["string", "null"]},
    "domain_id": {"enum": ["default"]}, "description": {"type": ["string", "null"]},
    "email": {"type": ["string", "null"]}, "options": {"type": "object", "properties": {
        "ignore_lockout_failure_attempts": {"type": ["boolean", "null"]}}}}}
CREATE = {"type": "object", "required": ["user"], "properties": {"user": {
    **_USER, "required": ["name"]}}}
UPDATE = {"type": "object", "required": ["user"], "properties": {"user": _USER}}
PASSWORD = {"type": "object", "required": ["user"], "properties": {"user": {
    "type": "object", "required": ["password", "original_password"],
    "properties": {"password": {}, "original_password": {}}}}}


def _password(value, field="password"):
    if not isinstance(value, str) or not value:
        raise exception.Invalid(f"Invalid input for field {field}: a non-empty string "
                                "is required.")
    return value


def _ignore_lockout(spec):
    """Keystone's user option ignore_lockout_failure_attempts (None: not given)."""
    value = (spec.get("options") or {}).get("ignore_lockout_failure_attempts", None)
    return None if value is None else bool(value)


def list_users():
    """identity:list_users (admin)."""
    with reader() as session:
        query = select(models.User).order_by(models.User.name)
        if flask.request.args.get("name"):
            query = query.where(models.User.name == flask.request.args["name"])
        if flask.request.args.get("enabled") is not None:
            query = query.where(models.User.enabled == (
                flask.request.args["enabled"].lower() in ("1", "true", "yes")))
        users = session.scalars(query).all()
    return collection("users", [user_view(u) for u in users])


@policy.checked_in_handler("identity:get_user")
def show_user(user_id):
    """identity:get_user (admin or the user: Keystone's target.user.id)."""
    policy.authorize("identity:get_user", {"target.user.id": user_id})
    return flask.jsonify({"user": user_view(identity.get(models.User, user_id, "user"))})


@validation.body(CREATE)
def create_user(body):
    """identity:create_user (admin)."""
    spec = body["user"]
    password = _password(spec["password"]) if spec.get("password") is not None else None
    user = identity.create_user(spec["name"], password, spec.get("default_project_id"),
                                spec.get("enabled", True), _ignore_lockout(spec) or False)
    response = flask.jsonify({"user": user_view(user)})
    response.status_code = 201
    return response


@validation.body(UPDATE)
def update_user(user_id, body):
    """identity:update_user (admin). Disabling or a new password revokes the
    user's tokens; enabling or a new password ends a lockout."""
    spec = {k: v for k, v in body["user"].items()
            if k in ("name", "enabled", "password", "default_project_id")}
    if _ignore_lockout(body["user"]) is not None:
        spec["ignore_lockout"] = _ignore_lockout(body["user"])
    if "password" in spec:
        _password(spec["password"])
    user = identity.update_user(user_id, spec)
    return flask.jsonify({"user": user_view(user)})


def delete_user(user_id):
    """identity:delete_user (admin)."""
    identity.delete_user(user_id)
    return "", 204


@validation.body(PASSWORD)
def change_password(user_id, body):
    """identity:change_password (the user itself: the original password is
    what authorizes it). Every token issued before is revoked."""
    ctx = context.current()
    if not ctx.is_user(user_id):
        raise exception.Forbidden("Only the user may change its own password.")
    spec = body["user"]
    identity.change_password(user_id, _password(spec["original_password"],
                                                "original_password"),
                             _password(spec["password"]))
    return "", 204


@policy.checked_in_handler("identity:list_user_projects")
def list_user_projects(user_id):
    """identity:list_user_projects (admin or the user)."""
    policy.authorize("identity:list_user_projects", {"target.user.id": user_id})
    identity.get(models.User, user_id, "user")
    return collection("projects", [project_view(p) for p in identity.user_projects(user_id)])


def register(bp):
    bp.add_url_rule("/v3/users", "list_users", list_users)
    bp.add_url_rule("/v3/users", "create_user", create_user, methods=["POST"])
    bp.add_url_rule("/v3/users/<user_id>", "show_user", show_user)
    bp.add_url_rule("/v3/users/<user_id>", "update_user", update_user, methods=["PATCH"])
    bp.add_url_rule("/v3/users/<user_id>", "delete_user", delete_user, methods=["DELETE"])
    bp.add_url_rule("/v3/users/<user_id>/password", "change_password", change_password,
                    methods=["POST"])
    bp.add_url_rule("/v3/users/<user_id>/projects", "list_user_projects",
                    list_user_projects)
