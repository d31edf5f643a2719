"""Error types of the client and the extraction of a readable message from
OpenStack error responses (Nova/Glance faults, Keystone errors, API-SIG errors,
plain text or HTML)."""
import html
import json
import re


class CliError(Exception):
    """A failure to report to the user as one line, without a traceback."""


class ApiError(CliError):
    """An HTTP error response from a service."""

    def __init__(self, message, status, request_id=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.request_id = request_id

    def __str__(self):
        return format_api_error(self.message, self.status, self.request_id)


def format_api_error(message, status, request_id=None):
    """``<message> (HTTP <code>, request id <id>)``; the id part only when known."""
    suffix = f"HTTP {status}"
    if request_id:
        suffix += f", request id {request_id}"
    return f"{message} ({suffix})"


_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def message_from_body(body, reason=""):
    """The human message in an error body (``str``, ``bytes`` or parsed JSON).

    Shapes understood:
      {"badRequest": {"code": 400, "message": "..."}}      Nova, Glance (any fault name)
      {"error": {"code": 401, "title": "...", "message": "..."}}   Keystone
      {"errors": [{"title": "...", "detail": "..."}]}       API-SIG
      {"message": "..."}                                    bare
      text or HTML                                          webob/werkzeug pages
    Falls back to ``reason`` (the HTTP reason phrase) when nothing is readable.
    """
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return _text_message(body) or reason
    return _json_message(body) or reason


def _json_message(body):
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("message"), str):
        return body["message"]
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        parts = [p for p in (first.get("title"), first.get("detail")) if p]
        return ": ".join(parts) or None
    inner = body.get("error")
    if not isinstance(inner, dict) and len(body) == 1:
        (inner,) = body.values()
    if isinstance(inner, dict):
        for key in ("message", "description", "title"):
            if isinstance(inner.get(key), str) and inner[key]:
                return inner[key]
    return None


def _text_message(text):
    if "<" in text and ">" in text:
        title = re.search(r"<title>(.*?)</title>", text, re.I | re.S)
        body = re.search(r"<body[^>]*>(.*?)</body>", text, re.I | re.S)
        text = body.group(1) if body else (title.group(1) if title else text)
        text = _TAG.sub(" ", text)
    return _SPACE.sub(" ", html.unescape(text)).strip()


def from_response(response):
    """An ``ApiError`` for a ``requests.Response`` with an error status."""
    return ApiError(message_from_body(response.content, response.reason or ""),
                    response.status_code,
                    response.headers.get("X-Openstack-Request-Id")
                    or response.headers.get("X-Compute-Request-Id"))


_CONNECTION_REASONS = (
    ("connection refused", "connection refused"),
    ("name or service not known", "unknown host name"),
    ("temporary failure in name resolution", "host name lookup failed"),
    ("no route to host", "no route to host"),
    ("network is unreachable", "network is unreachable"),
    ("timed out", "timed out"),
    ("certificate verify failed", "TLS certificate verification failed "
                                  "(set OS_CACERT, or OS_INSECURE=true)"),
)


def connection_reason(text):
    """A short reason for a connection failure found in a library's long
    message, or ``None`` when the message names no known network problem."""
    lowered = text.lower()
    for needle, reason in _CONNECTION_REASONS:
        if needle in lowered:
            return reason
    return None
