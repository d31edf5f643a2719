"""Request bodies: parsed once, checked against a JSON schema, 400 on anything wrong."""
import functools
import json
import uuid

import flask
import jsonschema

from nova_lite import exception


def json_body():
    """The request body as JSON, or a 400 that says why it is not."""
    data = flask.request.get_data(cache=True)
    if not data:
        raise exception.Invalid("The request body is empty; a JSON object is required.")
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise exception.Invalid(f"Malformed request body: {exc}") from None


def check(schema, body):
    try:
        jsonschema.validate(body, schema, format_checker=jsonschema.FormatChecker())
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        prefix = f"Invalid input for field/attribute {where}. " if where else "Invalid input. "
        raise exception.Invalid(f"{prefix}Value: {exc.instance!r}. {exc.message}") from None


def body(schema):
    """Decorator: pass the validated JSON body as the view's ``body`` argument."""
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            data = json_body()
            check(schema, data)
            return view(*args, body=data, **kwargs)
        return wrapper
    return decorator


def is_uuid(text):
    """True for a canonical UUID string (any case)."""
    try:
        return str(uuid.UUID(text)) == text.lower()
    except (ValueError, TypeError, AttributeError):
        return False


# Reusable schema pieces.
NAME = {"type": "string", "minLength": 1, "maxLength": 255,
        "pattern": r"^(?! )[^\x00-\x1f]*(?<! )$"}
UUID = {"type": "string", "format": "uuid"}
POSITIVE_INT = {"type": ["integer", "string"], "pattern": r"^[0-9]+$", "minimum": 1}
