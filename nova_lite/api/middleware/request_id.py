"""Every request gets an id (``req-<uuid>``), echoed in the response headers,
logged, and carried into every message the request causes."""
import uuid

import flask

from nova_lite.api.context import RequestContext


def before():
    flask.g.context = RequestContext(request_id=f"req-{uuid.uuid4()}")


def after(response):
    ctx = flask.g.get("context")
    if ctx is not None:
        response.headers["X-Openstack-Request-Id"] = ctx.request_id
        if flask.request.path.startswith("/compute"):
            response.headers["X-Compute-Request-Id"] = ctx.request_id
    return response


def install(app):
    app.before_request(before)
    app.after_request(after)
