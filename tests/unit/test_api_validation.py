"""JSON-schema checks: built once per schema, with the 400 messages
``jsonschema.validate`` gave (best match of the instance's errors)."""
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
    (CREATE, {"server": {"name": "a" * 256, "flavorRef": "1"}}),
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

