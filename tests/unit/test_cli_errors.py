"""nova-lite CLI: messages from every error body shape, and the error line."""
import json

import pytest

from nova_lite.cli import errors


@pytest.mark.parametrize("body, expected", [
    ({"badRequest": {"code": 400, "message": "Invalid flavorRef provided."}},
     "Invalid flavorRef provided."),
    ({"itemNotFound": {"code": 404, "message": "Flavor 42 could not be found."}},
     "Flavor 42 could not be found."),
    ({"conflictingRequest": {"code": 409, "message": "Key pair 'k' already exists."}},
     "Key pair 'k' already exists."),
    ({"computeFault": {"code": 500, "message": "Unexpected API Error."}},
     "Unexpected API Error."),
    ({"error": {"code": 401, "title": "Unauthorized",
                "message": "The request you have made requires authentication."}},
     "The request you have made requires authentication."),
    ({"error": {"code": 403, "title": "Forbidden", "message": ""}}, "Forbidden"),
    ({"errors": [{"title": "Conflict", "detail": "Image is in use"}]},
     "Conflict: Image is in use"),
    ({"message": "Image not found"}, "Image not found"),
])
def test_json_bodies(body, expected):
    assert errors.message_from_body(body, "Reason") == expected
    assert errors.message_from_body(json.dumps(body), "Reason") == expected
    assert errors.message_from_body(json.dumps(body).encode(), "Reason") == expected


def test_html_body_gives_its_text():
    page = ("<html><head><title>404 Not Found</title></head><body><h1>404 Not "
            "Found</h1>\n  The resource could not be found.<br /><br />\n</body></html>")
    assert errors.message_from_body(page, "Not Found") == \
        "404 Not Found The resource could not be found."


def test_plain_text_body_is_collapsed():
    assert errors.message_from_body(b"413 Request Entity Too Large\n\n  too big\n") == \
        "413 Request Entity Too Large too big"


@pytest.mark.parametrize("body", [b"", "", "{}", {"weird": [1, 2]}, "[1, 2]",
                                  {"a": {"code": 1}, "b": {}}])
def test_unreadable_bodies_fall_back_to_the_reason(body):
    assert errors.message_from_body(body, "Service Unavailable") == "Service Unavailable"


def test_api_error_line_names_code_and_request_id():
    exc = errors.ApiError("Flavor 42 could not be found.", 404, "req-1234")
    assert str(exc) == "Flavor 42 could not be found. (HTTP 404, request id req-1234)"
    assert str(errors.ApiError("Boom", 500)) == "Boom (HTTP 500)"
    assert isinstance(exc, errors.CliError)


@pytest.mark.parametrize("text, reason", [
    ("Unable to establish connection to http://h:5000/v3: [Errno 111] Connection "
     "refused", "connection refused"),
    ("Failed to resolve 'nohost' ([Errno -2] Name or service not known)",
     "unknown host name"),
    ("Read timed out. (read timeout=60)", "timed out"),
    ("SSL: CERTIFICATE_VERIFY_FAILED certificate verify failed",
     "TLS certificate verification failed (set OS_CACERT, or OS_INSECURE=true)"),
    ("something else entirely", None),
])
def test_connection_reasons(text, reason):
    assert errors.connection_reason(text) == reason
