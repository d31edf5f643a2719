"""Input the API refuses before any handler or query runs.

* A request target longer than ``[api] max_url_length``: 414; header fields
  larger in all than ``[api] max_header_size``: 431.
* A path or query string that is not UTF-8 once percent-decoded, or that holds
  a control character (C0 or DEL; NUL is what PostgreSQL refuses in text):
  400. A header value that is not UTF-8 or holds NUL: 400.
* A body larger than ``[api] max_request_body_size``: 413, from Content-Length
  at once or, for a chunked body, once reading passes the limit (Flask's
  per-request ``max_content_length`` stops the read one byte past it). Views
  marked ``@streamed`` (image data uploads) are exempt and limit their own
  streams.

Every refusal is a ``NovaLiteError``, so it leaves in the API's own error
format (``errors.error_response``). JSON bodies are checked where they are
parsed, ``validation.json_body``.

``nova-lite-api`` raises gunicorn's request-line and header limits above these
(``nova_lite.cmd.api``), so it is these that answer, in JSON, not gunicorn's
plain-HTML 400.
"""
import re
from urllib.parse import unquote_to_bytes

import flask

from nova_lite import exception
from nova_lite.conf import CONF

STREAMED_ATTR = "_nova_lite_streamed"

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def streamed(view):
    """Mark a view that reads its body as a stream, with a limit of its own."""
    setattr(view, STREAMED_ATTR, True)
    return view


def _raw(text):
    """The bytes a WSGI string stands for (PEP 3333: latin-1); a str that
    cannot be latin-1 (not from a server) is taken as UTF-8, surrogates kept
    so that decoding refuses them."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _utf8(data, what):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise exception.Invalid(f"The request {what} is not valid UTF-8.") from None


def _target_length(environ):
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return len(raw)
    query = environ.get("QUERY_STRING", "")
    return len(environ.get("SCRIPT_NAME", "")) + len(environ.get("PATH_INFO", "")) + (
        len(query) + 1 if query else 0)


def _header_fields(environ):
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            yield key[5:], value
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            yield key, value


def check_target(environ):
    if _target_length(environ) > CONF.api.max_url_length:
        raise exception.URITooLong(
            f"The request URI is longer than {CONF.api.max_url_length} bytes.")
    path = _utf8(_raw(environ.get("PATH_INFO", "")), "path")
    if _CONTROL.search(path):
        raise exception.Invalid("The request path contains a control character.")
    query = _utf8(unquote_to_bytes(_raw(environ.get("QUERY_STRING", ""))), "query string")
    if _CONTROL.search(query):
        raise exception.Invalid("The request query string contains a control character.")


def check_headers(environ):
    fields = list(_header_fields(environ))
    size = sum(len(name) + len(value) + 4 for name, value in fields)    # "N: V\r\n"
    if size > CONF.api.max_header_size:
        raise exception.HeadersTooLarge(
            f"The request's header fields are larger than {CONF.api.max_header_size} "
            "bytes.")
    for name, value in fields:
        header = name.replace("_", "-").title()
        if "\x00" in _utf8(_raw(value), f"header {header}"):
            raise exception.Invalid(f"The request header {header} contains a NUL "
                                    "character.")


def check_body_size():
    request = flask.request
    view = flask.current_app.view_functions.get(request.endpoint)
    if getattr(view, STREAMED_ATTR, False):
        return
    limit = CONF.api.max_request_body_size
    if request.content_length is not None and request.content_length > limit:
        raise too_large()
    # A body of unknown length (chunked) is read up to one byte past the limit,
    # so that the reader (validation.json_body) can tell a larger one apart.
    # (Flask >= 3.1: max_content_length per request.)
    request.max_content_length = limit + 1


def check_read(data):
    """413 if ``data``, a body read whole, is over the limit."""
    if len(data) > CONF.api.max_request_body_size:
        raise too_large()


def too_large():
    return exception.RequestTooLarge(
        f"The request body is larger than {CONF.api.max_request_body_size} bytes.")


def before():
    environ = flask.request.environ
    check_target(environ)
    check_headers(environ)
    check_body_size()


def install(app):
    app.before_request(before)
