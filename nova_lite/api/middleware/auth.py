"""Token check: every request except those marked ``@public`` needs a valid
``X-Auth-Token``; its claims fill the RequestContext."""
import flask

from nova_lite import exception
from nova_lite.api.identity import tokens

PUBLIC_ATTR = "_nova_lite_public"


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


def install(app):
    app.before_request(before)
