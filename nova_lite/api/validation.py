"""Request bodies: parsed once, checked against a JSON schema, 400 on anything wrong.

Each schema's validator is built once (its class from the schema's draft, the
schema itself checked against the meta-schema then, not per request) and
reused by every request and thread; errors are those ``jsonschema.validate``
raises (``best_match`` of the instance's errors), so messages are unchanged,
except that they never repeat a password or secret (SECRET_KEYS)."""
import functools
import json
import threading
import uuid

import flask
import jsonschema
from jsonschema import exceptions as schema_exc
from jsonschema import validators

from nova_lite import exception

_FORMATS = jsonschema.FormatChecker()
_MAX_CACHED = 512
_lock = threading.Lock()
_validators = {}        # id(schema) -> (schema, validator); the schema is kept alive


def json_body():
    """The request body as JSON, or a 400 that says why it is not."""
    data = flask.request.get_data(cache=True)
    if not data:
        raise exception.Invalid("The request body is empty; a JSON object is required.")
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise exception.Invalid(f"Malformed request body: {exc}") from None


def validator(schema):
    """The compiled validator of ``schema`` (built and meta-checked on first use)."""
    hit = _validators.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    compiled = cls(schema, format_checker=_FORMATS)
    with _lock:
        if len(_validators) >= _MAX_CACHED:      # only if schemas are made per request
            _validators.clear()
        _validators[id(schema)] = (schema, compiled)
    return compiled


# Keys whose values an error message never repeats (passwords, secrets).
SECRET_KEYS = frozenset({"password", "original_password", "secret", "adminPass"})


def redacted(value):
    """``value`` with the values of SECRET_KEYS replaced, at any depth."""
    if isinstance(value, dict):
        return {k: "***" if k in SECRET_KEYS else redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redacted(v) for v in value]
    return value


def check(schema, body):
    exc = schema_exc.best_match(validator(schema).iter_errors(body))
    if exc is not None:
        where = "/".join(str(p) for p in exc.absolute_path)
        prefix = f"Invalid input for field/attribute {where}. " if where else "Invalid input. "
        if any(str(part) in SECRET_KEYS for part in exc.absolute_path):
            raise exception.Invalid(f"{prefix}{exc.validator} failed (value not shown).")
        shown = redacted(exc.instance)
        message = exc.message if shown == exc.instance else \
            exc.message.replace(repr(exc.instance), repr(shown))
        raise exception.Invalid(f"{prefix}Value: {shown!r}. {message}")


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
