"""Request bodies: parsed once, checked against a JSON schema, 400 on anything wrong.

``json_body`` is the one parser of request JSON. It refuses, with a 400, what
no handler or query should see: nesting deeper than ``[api] max_json_depth``
(counted by a scan, before the recursive parser could overflow), NaN and
Infinity (also a number too large for a float), and NUL or lone surrogates in
any string or key (PostgreSQL refuses NUL in text). A body over ``[api]
max_request_body_size`` is a 413 (``middleware.input_limits``).

Messages of failed checks never echo a secret (a password, a token, an
adminPass...) and show at most ``MAX_SHOWN`` characters of the offending value.

Each schema's validator is built once (its class from the schema's draft, the
schema itself checked against the meta-schema then, not per request) and
reused by every request and thread; errors are those ``jsonschema.validate``
raises (``best_match`` of the instance's errors), so messages are those it
gave, but for secrets and long values."""
import functools
import json
import math
import re
import threading
import uuid

import flask
import jsonschema
from jsonschema import exceptions as schema_exc
from jsonschema import validators
from werkzeug import exceptions as http_exc

from nova_lite import exception
from nova_lite.api.middleware import input_limits
from nova_lite.conf import CONF

_FORMATS = jsonschema.FormatChecker()
_MAX_CACHED = 512
_lock = threading.Lock()
_validators = {}        # id(schema) -> (schema, validator); the schema is kept alive


def json_body():
    """The request body as JSON, or a 400 that says why it is not."""
    try:
        data = flask.request.get_data(cache=True)
    except http_exc.RequestEntityTooLarge:
        raise input_limits.too_large() from None
    input_limits.check_read(data)
    if not data:
        raise exception.Invalid("The request body is empty; a JSON object is required.")
    return parse_json(data, CONF.api.max_json_depth)


def parse_json(data, max_depth):
    """``data`` (bytes or str) parsed as strict JSON: Invalid for anything
    ``json_body`` refuses."""
    check_depth(data, max_depth)
    try:
        value = json.loads(data, parse_constant=_refuse_constant, parse_float=_finite)
    except RecursionError:
        raise exception.Invalid("Malformed request body: nested too deeply.") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise exception.Invalid(f"Malformed request body: {_shorten(str(exc))}") from None
    check_strings(value)
    return value


def _refuse_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _finite(text):
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number {_shorten(text)} is too large")
    return number


_BRACKETS = re.compile(rb"[\[\]{}]")
# A string (to its closing quote, or to the end if it has none: never a
# second try from inside it, so the scan stays linear) or one bracket.
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)


def check_depth(data, max_depth):
    """Invalid if arrays and objects in ``data`` nest deeper than
    ``max_depth``: a scan that skips strings, with no recursion."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if len(_BRACKETS.findall(data)) <= max_depth:
        return                  # too few brackets to nest that deep
    depth = 0
    for match in _TOKENS.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                raise exception.Invalid(f"Malformed request body: arrays and objects "
                                        f"nest deeper than {max_depth} levels.")
        elif token in (b"]", b"}"):
            depth -= 1


_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


def check_strings(value):
    """Invalid if any string or key in ``value`` holds NUL or a lone surrogate
    (JSON escapes ``\\u0000`` and ``\\ud800`` parse to them)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _BAD_TEXT.search(item):
                raise exception.Invalid("Malformed request body: a string contains a "
                                        "NUL character or a lone surrogate.")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


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


# Fields whose values never appear in an error message (compared lower-case).
SECRET_FIELDS = frozenset({"password", "adminpass", "admin_pass", "original_password",
                           "secret", "token", "id_token", "private_key", "fernet_key"})
MAX_SHOWN = 200


def _secret(key):
    key = str(key).lower()
    return key in SECRET_FIELDS or "password" in key or "secret" in key


def _redacted(value):
    """``value`` with the values of secret fields replaced (an iterative copy)."""
    if not isinstance(value, (dict, list)):
        return value
    root = type(value)()
    stack = [(value, root)]
    while stack:
        source, target = stack.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, item in items:
            if isinstance(source, dict) and _secret(key):
                item = "***"
            elif isinstance(item, (dict, list)):
                copy = type(item)()
                stack.append((item, copy))
                item = copy
            if isinstance(target, dict):
                target[key] = item
            else:
                target.append(item)
    return root


def _shorten(text, limit=MAX_SHOWN):
    return text if len(text) <= limit else text[:limit] + "..."


def shown(value, path=()):
    """How an offending value appears in a message: secrets hidden, short."""
    if any(_secret(p) for p in path if isinstance(p, str)):
        return "'***'"
    return _shorten(repr(_redacted(value)))


def check(schema, body):
    exc = schema_exc.best_match(validator(schema).iter_errors(body))
    if exc is not None:
        where = "/".join(str(p) for p in exc.absolute_path)
        prefix = f"Invalid input for field/attribute {_shorten(where)}. " if where \
            else "Invalid input. "
        value = shown(exc.instance, exc.absolute_path)
        message = exc.message.replace(repr(exc.instance), value)     # jsonschema's repr
        message = _shorten(message, 2 * MAX_SHOWN)
        raise exception.Invalid(f"{prefix}Value: {value}. {message}")


def body(schema):
    """Decorator: pass the validated JSON body as the view's ``body`` argument.

    ``schema`` may be a function of no arguments returning the schema (one
    per microversion: it must return the same object each time for one)."""
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            data = json_body()
            check(schema() if callable(schema) else schema, data)
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
