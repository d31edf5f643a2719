"""Every error leaves in OpenStack's format, never as a traceback.

Compute and Image:  {"badRequest": {"code": 400, "message": "..."}}
Identity:           {"error": {"code": 401, "title": "Unauthorized", "message": "..."}}
Networking:         {"NeutronError": {"type": "NetworkNotFound", "message": "...",
                                      "detail": ""}}

A backend that is briefly away (PostgreSQL restarting or failing over, the
pool exhausted, the broker not confirming) is the client's cue to try again,
not a bug: such errors answer 503 with ``Retry-After`` in the API's own
format (``serviceUnavailable``, Identity's ``Service Unavailable``,
``HTTPServiceUnavailable``). Which errors those are is decided in one place,
``transient_backend()``; anything else unexpected is a 500.
"""
import logging

import flask
import sqlalchemy.exc
from werkzeug import exceptions as http_exc
from werkzeug.http import HTTP_STATUS_CODES

from nova_lite import exception
from nova_lite.db import errors as db_errors
from nova_lite.db import quotas
from nova_lite.rpc import call as rpc_call
from nova_lite.rpc import publisher

LOG = logging.getLogger(__name__)

FAULT_NAMES = {
    400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
    405: "badMethod", 406: "notAcceptable", 409: "conflictingRequest",
    413: "overLimit", 414: "requestUriTooLong", 415: "badMediaType",
    431: "requestHeaderFieldsTooLarge", 429: "overLimit", 501: "notImplemented",
    503: "serviceUnavailable",
}


# Longest message an error body carries: none should need more, and none may
# carry a whole request body back (validation shortens what it echoes too).
MAX_MESSAGE = 1024


def error_response(code, message, title=None, neutron_type=None):
    message = str(message)
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE] + "..."
    if flask.request.path.startswith("/identity"):
        body = {"error": {"code": code, "title": title or http_title(code),
                          "message": message}}
    elif flask.request.path.startswith("/network"):
        body = {"NeutronError": {"type": neutron_type or NEUTRON_TYPES.get(
            code, "HTTPInternalServerError" if code >= 500 else "HTTPBadRequest"),
            "message": message, "detail": ""}}
    else:
        body = {FAULT_NAMES.get(code, "computeFault"): {"code": code, "message": message}}
    response = flask.jsonify(body)
    response.status_code = code
    if code == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER)
    if code == 401:
        response.headers["WWW-Authenticate"] = 'Keystone uri="%s"' % (
            flask.request.host_url.rstrip("/") + "/identity")
    return response


# Networking v2 error types when the error names none (werkzeug's, schema checks).
NEUTRON_TYPES = {
    400: "HTTPBadRequest", 401: "HTTPUnauthorized", 403: "HTTPForbidden",
    404: "HTTPNotFound", 405: "HTTPMethodNotAllowed", 406: "HTTPNotAcceptable",
    409: "HTTPConflict", 413: "HTTPRequestEntityTooLarge", 414: "HTTPRequestURITooLong",
    415: "HTTPUnsupportedMediaType", 431: "HTTPRequestHeaderFieldsTooLarge",
    501: "HTTPNotImplemented", 503: "HTTPServiceUnavailable",
}


def http_title(code):
    return HTTP_STATUS_CODES.get(code, "Error")


def handle_nova_lite_error(exc):
    if isinstance(exc, quotas.OverQuota):
        return handle_over_quota(exc)
    if exc.code >= 500:
        LOG.error("request failed: %s", exc)
    return error_response(exc.code, exc.message,
                          neutron_type=getattr(exc, "neutron_type", None))


def handle_http_error(exc):
    message = exc.description or exc.name
    if isinstance(exc, http_exc.NotFound):
        message = "The resource could not be found."
    return error_response(exc.code or 500, message, title=exc.name)


def handle_data_error(exc):
    """Input that got past validation but that PostgreSQL refuses (a regular
    expression it cannot compile, a number out of range): the caller's fault."""
    LOG.info("database refused request input: %s", exc.orig)
    return error_response(400, "Invalid input: the request contains a value the "
                               "database cannot use.")


def handle_integrity_error(exc):
    """A row that changed under the request (a network deleted while a port was
    being made on it, a duplicate made at the same instant): retryable."""
    LOG.info("request conflicted in the database: %s", exc.orig)
    return error_response(409, "The request conflicts with a concurrent change to the "
                               "same resources; try again.")


# Seconds a client is told to wait after a 503: about what PostgreSQL takes to
# restart or a pool to free a connection; clients that honour it (keystoneauth
# with status-code retries) come back once the backend is, not in a tight loop.
RETRY_AFTER = 3



def transient_backend(exc):
    """The backend ("database", "message bus") whose brief absence ``exc``
    shows, or None if it is not such an error (nova_lite.db.errors decides
    for the database). A database error of this kind arrives before a
    commit (a transaction that fails rolls back), so the request changed
    nothing and may simply be sent again."""
    if db_errors.unavailable(exc):
        return "database"
    if isinstance(exc, (publisher.PublishError, rpc_call.CallTimeout)):
        return "message bus"    # no broker confirm / no reply in time
    return None


def handle_operational_error(exc):
    """PostgreSQL aborted the request (two requests locked the same rows in
    opposite orders): it changed nothing and may be retried. Other operational
    errors are a backend away (503) or unexpected (500)."""
    if db_errors.conflict(exc):
        LOG.info("request aborted by the database: %s", exc.orig)
        return error_response(409, "The request conflicted with a concurrent change to "
                                   "the same resources and was not applied; try again.")
    return handle_unexpected(exc)


def handle_over_quota(exc):
    """More than a quota allows: Compute's 403 in Nova's words, Networking's
    409 OverQuota in Neutron's."""
    if flask.request.path.startswith("/network"):
        return error_response(409, f"Quota exceeded for resources: ['{exc.resource}'].",
                              neutron_type="OverQuota")
    return error_response(403, exc.message)


def handle_database_error(exc):
    """A trigger refused a change past a quota (nova_lite.db.quotas), or an
    unexpected database error."""
    over = quotas.over_quota(exc)
    if over is not None:
        return handle_over_quota(over)
    return handle_unexpected(exc)


def handle_unexpected(exc):
    backend = transient_backend(exc)
    if backend is not None:
        # Logged without a traceback: the cause is outside this process and
        # one line per failed request says all there is to say.
        LOG.warning("%s unavailable during %s %s: %s", backend, flask.request.method,
                    flask.request.path, getattr(exc, "orig", None) or exc)
        return error_response(503, f"The {backend} is temporarily unavailable; "
                                   "try again later.")
    LOG.exception("unexpected error handling %s %s", flask.request.method,
                  flask.request.path)
    return error_response(500, "Unexpected API Error. Please report this at "
                               "the nova-lite issue tracker and attach the "
                               "request id from the response headers.")


def install(app):
    app.register_error_handler(exception.NovaLiteError, handle_nova_lite_error)
    app.register_error_handler(http_exc.HTTPException, handle_http_error)
    app.register_error_handler(sqlalchemy.exc.DataError, handle_data_error)
    app.register_error_handler(sqlalchemy.exc.IntegrityError, handle_integrity_error)
    app.register_error_handler(sqlalchemy.exc.OperationalError, handle_operational_error)
    app.register_error_handler(sqlalchemy.exc.DBAPIError, handle_database_error)
    app.register_error_handler(Exception, handle_unexpected)
