"""JSON-schema checks: built once per schema, with the 400 messages
``jsonschema.validate`` gave (best match of the instance's errors) except that
secrets are hidden and long values shortened; the strict JSON parser."""
import functools

import jsonschema
import pytest

from nova_lite import exception
from nova_lite.api import validation
from nova_lite.api.compute import server_create, servers
from nova_lite.api.identity import auth
from nova_lite.api.network import schemas as network_schemas


def _old_message(schema, body):
    """What validation.check said when it called jsonschema.validate."""
    try:
        jsonschema.validate(body, schema, format_checker=jsonschema.FormatChecker())
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        prefix = f"Invalid input for field/attribute {where}. " if where else "Invalid input. "
        return f"{prefix}Value: {exc.instance!r}. {exc.message}"
    return None


def _message(schema, body):
    try:
        validation.check(schema, body)
    except exception.Invalid as exc:
        return exc.message
    return None


CREATE = server_create.SCHEMA
CASES = [
    (CREATE, {"server": {"name": "a", "imageRef": "x", "flavorRef": "1"}}),
    (CREATE, {}),
    (CREATE, []),
    (CREATE, {"server": {"name": "", "flavorRef": "1"}}),
    (CREATE, {"server": {"name": " a", "flavorRef": "1"}}),
    (CREATE, {"server": {"name": "a", "flavorRef": []}}),
    (CREATE, {"server": {"name": "a", "flavorRef": "1", "bogus": 1}}),
    (CREATE, {"server": {"name": "a", "flavorRef": "1", "max_count": "x"}}),
    (CREATE, {"server": {"name": "a", "flavorRef": "1", "max_count": 0}}),
    (CREATE, {"server": {"name": "a", "flavorRef": "1", "accessIPv4": "300.1.1.1"}}),
    (CREATE, {"server": {"name": "a", "flavorRef": "1", "accessIPv6": "nope"}}),
    (CREATE, {"server": {"name": "a", "flavorRef": "1", "networks": "some"}}),
    (CREATE, {"server": {"name": "a", "flavorRef": "1", "networks": [{"uuid": 1}]}}),
    (CREATE, {"server": {"name": "a", "flavorRef": "1", "metadata": {"k": 1}}}),
    (CREATE, {"server": {"name": "a", "flavorRef": "1", "metadata": {"": "v"}}}),
    (CREATE, {"server": {"name": "a" * 100, "flavorRef": "1", "x": 1}}),
    (servers.UPDATE_SCHEMA, {"server": {"accessIPv4": "1.2.3"}}),
    (servers.UPDATE_SCHEMA, {"server": {"name": "ok", "x": 1}}),
    (auth.AUTH_SCHEMA, {"auth": {"identity": {"methods": []}}}),
    (auth.AUTH_SCHEMA, {"auth": {"identity": {"methods": ["password"]}, "scope": 3}}),
    (network_schemas.NETWORK_CREATE, {"name": 5}),
    (network_schemas.SUBNET_CREATE, {"cidr": None}),
]


@pytest.mark.parametrize("schema, body", CASES)
def test_messages_are_those_of_jsonschema_validate(schema, body):
    assert _message(schema, body) == _old_message(schema, body)


def test_each_schema_is_compiled_once():
    first = validation.validator(CREATE)
    assert validation.validator(CREATE) is first
    assert validation.validator(servers.UPDATE_SCHEMA) is not first


def test_a_broken_schema_is_still_refused():
    with pytest.raises(jsonschema.SchemaError):
        validation.check({"type": "no-such-type"}, {})


@pytest.mark.parametrize("schema, body", [
    (auth.AUTH_SCHEMA, {"auth": {"identity": {"password": {"user": {
        "name": "u", "password": "s3cr3t-value"}}}}}),
    (auth.AUTH_SCHEMA, {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"password": "s3cr3t-value", "name": 5}}}}}),
    (auth.AUTH_SCHEMA, {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"password": ["s3cr3t-value"]}}}}}),
])
def test_messages_never_repeat_a_password(schema, body):
    message = _message(schema, body)
    assert message and "s3cr3t" not in message


def test_a_long_value_is_shortened():
    message = _message(CREATE, {"server": {"name": "a" * 1_000_000, "flavorRef": "1"}})
    assert message.startswith("Invalid input for field/attribute server/name. ")
    assert "a" * 150 in message and "a" * 201 not in message
    assert len(message) < 1000


LOGIN = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "name": "admin", "domain": {"name": "Default"}, "password": "hunter2-secret"}}}}}


@pytest.mark.parametrize("body", [
    {"auth": {"identity": {"password": {"user": {                      # no methods
        "name": "admin", "password": "hunter2-secret"}}}}},
    {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "password": ["hunter2-secret"]}}}}},
    {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "password": {"hunter2-secret": 1}}}}}},
    {"auth": {"identity": {"token": {"id": "hunter2-secret"}}}},
    {"auth": {"identity": {"methods": ["token"], "token": {"id": ["hunter2-secret"]}}}},
])
def test_a_secret_is_never_echoed(body):
    message = _message(auth.AUTH_SCHEMA, body)
    assert message is not None and message.startswith("Invalid input")
    assert "hunter2" not in message


def test_a_valid_login_body_passes():
    assert _message(auth.AUTH_SCHEMA, LOGIN) is None


def _parse(data, depth=64):
    try:
        return validation.parse_json(data, depth)
    except exception.Invalid as exc:
        return exc.message


@pytest.mark.parametrize("data", [
    b"[" * 100_000, b"[" * 65 + b"]" * 65, b'{"a": ' * 65 + b"1" + b"}" * 65,
    b'{"a": NaN}', b"[Infinity]", b"[-Infinity]", b"[1e999]",
    rb'{"name": "a\u0000b"}', rb'{"a\u0000": 1}', rb'["\ud800"]', rb'{"\udfff": 1}',
    b'"\xff"', b'[1' + b"0" * 5000 + b"]",
])
def test_bad_json_is_refused(data):
    assert _parse(data).startswith("Malformed request body")


@pytest.mark.parametrize("data, value", [
    (b"[" * 64 + b"]" * 64, functools.reduce(lambda inner, _: [inner], range(63), [])),
    (b'["' + b"[" * 70 + rb'", "\\"]', ["[" * 70, "\\"]),
    (rb'{"a": "\ud83d\ude00", "b": 1.5}', {"a": "\U0001F600", "b": 1.5}),
])
def test_good_json_is_parsed(data, value):
    assert validation.parse_json(data, 64) == value


def test_the_depth_scan_is_linear_on_unterminated_strings():
    """Brackets then a string that never ends: one pass, not one per quote."""
    data = b"[" * 70 + b'"' + rb'\"' * 200_000
    assert _parse(data).startswith("Malformed request body: arrays and objects nest")
