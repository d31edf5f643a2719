"""Token check: every request except those marked ``@public`` needs a valid
(unexpired, unrevoked) ``X-Auth-Token``; its claims fill the RequestContext.

An unscoped token (no project, so no role) is good for nothing but getting a
scoped one: listing the user's projects, reading the user itself, checking or
revoking the token itself, and rescoping (POST /v3/auth/tokens, public).
Anything else answers 403 on Identity (the token is valid, the action not
allowed: Keystone's policy answer) and 401 on Compute, Image and Networking
(those services accept project-scoped tokens only, as keystonemiddleware's
services do). This is the one place it is decided."""
import flask

from nova_lite import exception
from nova_lite.api.identity import tokens

PUBLIC_ATTR = "_nova_lite_public"

# What an unscoped token may reach (the handlers still check "own user").
UNSCOPED_ENDPOINTS = frozenset({
    "identity.list_my_projects", "identity.list_user_projects", "identity.show_user",
    "identity.show_token", "identity.check_token", "identity.revoke_token",
})


def public(view):
    """Mark a view as reachable without a token (version documents, login)."""
    setattr(view, PUBLIC_ATTR, True)
    return view


def before():
    if flask.request.endpoint is None:      # unknown URL: let routing say 404
        return
    view = flask.current_app.view_functions.get(flask.request.endpoint)
    if getattr(view, PUBLIC_ATTR, False):
        return
    token = flask.request.headers.get("X-Auth-Token")
    if not token:
        raise exception.NotAuthenticated()
    claims = tokens.validate(token)
    ctx = flask.g.context
    ctx.user_id = claims["user_id"]
    ctx.user_name = claims.get("user_name")
    ctx.project_id = claims.get("project_id")
    ctx.project_name = claims.get("project_name")
    ctx.roles = tuple(claims.get("roles", ()))
    ctx.token = token
    ctx.app_cred_id = claims.get("app_cred_id")
    if ctx.project_id is None and flask.request.endpoint not in UNSCOPED_ENDPOINTS:
        if flask.request.blueprint == "identity":
            raise exception.Forbidden("An unscoped token may only list the user's "
                                      "projects, read the user and be rescoped.")
        raise exception.NotAuthenticated("This service needs a project-scoped token.")


def install(app):
    app.before_request(before)
