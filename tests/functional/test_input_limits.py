"""Bad input answers 4xx in the API's own error format, never a 500 (issue 15):
NUL, control characters, invalid UTF-8 and lone surrogates anywhere; JSON
nested too deep, NaN and Infinity; bodies, URLs and headers too large; SSH
keys of unknown types. In-process against the real PostgreSQL; the same over
real gunicorn is in test_input_limits_gunicorn.py."""
import json
import urllib.parse
import uuid

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from nova_lite.conf import CONF
from tests.fixtures.credentials import ADMIN_PASSWORD, password_auth

LOGIN = "/identity/v3/auth/tokens"


def login_body(name="admin", password=ADMIN_PASSWORD):
    return password_auth(name, password, "admin")


def compute_fault(response, code):
    assert response.status_code == code, response.get_data(as_text=True)
    (fault,) = response.json.values()
    assert fault["code"] == code and fault["message"]
    return fault["message"]


def identity_error(response, code):
    assert response.status_code == code, response.get_data(as_text=True)
    assert response.json["error"]["code"] == code
    return response.json["error"]["message"]


def neutron_error(response, code, type_=None):
    assert response.status_code == code, response.get_data(as_text=True)
    error = response.json["NeutronError"]
    if type_:
        assert error["type"] == type_
    return error["message"]


# -- path, query string, headers ------------------------------------------------

def get_raw(client, path, headers=None):
    """GET with PATH_INFO as a server gives it: the percent-decoded bytes of
    the path, as latin-1 (the test client would re-encode them as UTF-8)."""
    environ = EnvironBuilder(path="/", headers=headers or {}).get_environ()
    environ["PATH_INFO"] = urllib.parse.unquote_to_bytes(path).decode("latin-1")
    environ["REQUEST_URI"] = environ["RAW_URI"] = path
    return client.open(Request(environ))


@pytest.mark.parametrize("path", [
    "/compute/v2.1/flavors/%00", "/compute/v2.1/flavors/a%00b",
    "/compute/v2.1/flavors/%ff", "/compute/v2.1/flavors/%ed%a0%80",     # lone surrogate
    "/compute/v2.1/servers/%0a", "/compute/v2.1/os-keypairs/%7f",
    "/image/v2/images/%00",
])
def test_bad_path_is_400_without_a_token(client, path):
    assert compute_fault(get_raw(client, path), 400).startswith("The request path")


def test_bad_path_is_400_with_a_token(client, admin_headers):
    compute_fault(client.get("/compute/v2.1/flavors/%00", headers=admin_headers), 400)
    identity_error(client.get("/identity/v3/projects/%00", headers=admin_headers), 400)
    neutron_error(get_raw(client, "/network/v2.0/networks/%ff", admin_headers), 400,
                  "HTTPBadRequest")


@pytest.mark.parametrize("query", ["name=%00", "name=a%00", "%00=1", "name=%ff",
                                   "name=%ed%a0%80", "name=a%09b"])
def test_bad_query_string_is_400(client, admin_headers, query):
    for headers in (admin_headers, {}):
        message = compute_fault(client.get(f"/compute/v2.1/servers?{query}",
                                           headers=headers), 400)
        assert message.startswith("The request query string")
    neutron_error(client.get(f"/network/v2.0/networks?{query}", headers=admin_headers),
                  400)
    identity_error(client.get(f"/identity/v3/projects?{query}", headers=admin_headers),
                   400)


def test_good_utf8_in_path_and_query_is_served(client, admin_headers):
    assert client.get("/compute/v2.1/servers?name=%C3%A9t%C3%A9",
                      headers=admin_headers).status_code == 200
    compute_fault(client.get("/compute/v2.1/flavors/%C3%A9t%C3%A9",
                             headers=admin_headers), 404)


def test_bad_header_value_is_400(client, admin_headers):
    response = client.get("/compute/v2.1/flavors",
                          headers={**admin_headers, "X-Thing": "a\x00b"})
    assert "X-Thing" in compute_fault(response, 400)
    environ = EnvironBuilder(path="/compute/v2.1/flavors", headers=admin_headers
                             ).get_environ()
    environ["HTTP_X_AUTH_TOKEN"] = "\xff\xfe"     # latin-1 of bytes that are not UTF-8
    compute_fault(client.open(Request(environ)), 400)


def test_url_longer_than_max_url_length_is_414(client, admin_headers):
    long_query = "name=" + "a" * CONF.api.max_url_length
    compute_fault(client.get("/compute/v2.1/servers?" + long_query,
                             headers=admin_headers), 414)
    neutron_error(client.get("/network/v2.0/networks?" + long_query,
                             headers=admin_headers), 414, "HTTPRequestURITooLong")


def test_headers_larger_than_max_header_size_are_431(client, admin_headers):
    headers = {**admin_headers, "X-Big": "a" * CONF.api.max_header_size}
    compute_fault(client.get("/compute/v2.1/flavors", headers=headers), 431)
    identity_error(client.post(LOGIN, json=login_body(), headers=headers), 431)


# -- JSON bodies --------------------------------------------------------------

def test_nul_and_lone_surrogates_in_a_login_body_are_400(client):
    for name in ("a\u0000b", "\ud800"):
        data = json.dumps(login_body(name=name))      # ensure_ascii: \u0000, \ud800
        response = client.post(LOGIN, data=data, content_type="application/json")
        assert "NUL character or a lone surrogate" in identity_error(response, 400)
    response = client.post(LOGIN, data=json.dumps({"auth": {"a\u0000": 1}}),
                           content_type="application/json")
    identity_error(response, 400)


def test_nan_and_infinity_are_400(client, admin_headers):
    for constant in ("NaN", "Infinity", "-Infinity", "1e400"):
        data = '{"flavor": {"name": "f", "ram": %s, "vcpus": 1, "disk": 1}}' % constant
        response = client.post("/compute/v2.1/flavors", data=data,
                               content_type="application/json", headers=admin_headers)
        assert compute_fault(response, 400).startswith("Malformed request body")


def test_deep_json_is_400_on_login_and_server_create(client, admin_headers):
    deep = "[" * 100_000 + "]" * 100_000
    identity_error(client.post(LOGIN, data=deep, content_type="application/json"), 400)
    response = client.post("/compute/v2.1/servers", data='{"server": ' + deep + "}",
                           content_type="application/json", headers=admin_headers)
    assert "nest deeper than" in compute_fault(response, 400)
    response = client.post("/network/v2.0/networks", data=deep,
                           content_type="application/json", headers=admin_headers)
    neutron_error(response, 400)


def test_deep_json_patch_on_an_image_is_400(client, demo_headers):
    created = client.post("/image/v2/images", json={"name": "deep-patch"},
                          headers=demo_headers)
    assert created.status_code == 201
    image_id = created.json["id"]
    try:
        value = "[" * 800 + "]" * 800
        data = '[{"op": "add", "path": "/deep", "value": %s}]' % value
        response = client.patch(
            f"/image/v2/images/{image_id}", data=data, headers={
                **demo_headers,
                "Content-Type": "application/openstack-images-v2.1-json-patch"})
        assert "nest deeper than" in compute_fault(response, 400)
    finally:
        client.delete(f"/image/v2/images/{image_id}", headers=demo_headers)


# -- messages -----------------------------------------------------------------

def test_a_login_400_never_echoes_the_password(client):
    body = login_body(password="Sw0rdfish-Correct-Horse")
    del body["auth"]["identity"]["methods"]
    response = client.post(LOGIN, json=body)
    identity_error(response, 400)
    assert "Sw0rdfish" not in response.get_data(as_text=True)
    body = login_body()
    body["auth"]["identity"]["password"]["user"]["password"] = ["Sw0rdfish-Correct"]
    response = client.post(LOGIN, json=body)
    identity_error(response, 400)
    assert "Sw0rdfish" not in response.get_data(as_text=True)


def test_a_long_bad_value_is_not_echoed(client, admin_headers):
    name = "n" * 200_000
    response = client.post("/compute/v2.1/flavors", headers=admin_headers, json={
        "flavor": {"name": name, "ram": 1, "vcpus": 1, "disk": 1}})
    compute_fault(response, 400)
    assert len(response.get_data()) < 2048


# -- body size ----------------------------------------------------------------

def test_a_body_larger_than_the_limit_is_413(client, admin_headers):
    big = json.dumps(login_body(name="x" * (CONF.api.max_request_body_size + 1)))
    response = client.post(LOGIN, data=big, content_type="application/json")
    assert "larger than" in identity_error(response, 413)
    assert len(response.get_data()) < 2048
    response = client.post("/compute/v2.1/servers", data=big, headers=admin_headers,
                           content_type="application/json")
    assert compute_fault(response, 413)
    assert "overLimit" in response.json
    response = client.post("/network/v2.0/networks", data=big, headers=admin_headers,
                           content_type="application/json")
    neutron_error(response, 413, "HTTPRequestEntityTooLarge")


def _unsized_post(client, url, data, headers):
    """POST ``data`` without Content-Length, as a chunked body arrives."""
    import io
    environ = EnvironBuilder(path=url, method="POST", headers={
        **headers, "Content-Type": "application/json"}, data=b"").get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = io.BytesIO(data)
    environ["wsgi.input_terminated"] = True
    return client.open(Request(environ))


def test_an_unsized_body_is_cut_at_the_limit(client):
    big = json.dumps(login_body(name="x" * (CONF.api.max_request_body_size + 1)))
    identity_error(_unsized_post(client, LOGIN, big.encode(), {}), 413)
    small = json.dumps(login_body()).encode()
    assert _unsized_post(client, LOGIN, small, {}).status_code == 201


def test_an_image_upload_larger_than_the_body_limit_still_works(client, demo_headers):
    created = client.post("/image/v2/images", json={
        "name": "big-upload", "disk_format": "raw", "container_format": "bare"},
        headers=demo_headers)
    assert created.status_code == 201
    image_id = created.json["id"]
    data = b"\x01" * (2 * CONF.api.max_request_body_size + 7)
    try:
        response = client.put(f"/image/v2/images/{image_id}/file", data=data, headers={
            **demo_headers, "Content-Type": "application/octet-stream"})
        assert response.status_code == 204, response.get_data(as_text=True)
        download = client.get(f"/image/v2/images/{image_id}/file", headers=demo_headers)
        assert download.get_data() == data
    finally:
        client.delete(f"/image/v2/images/{image_id}", headers=demo_headers)


# -- keypairs -----------------------------------------------------------------

@pytest.mark.parametrize("public_key", [
    "ssh-foo AAAAB3NzaC1yc2EAAAADAQABAAABAQ== me@host",
    "ecdsa-sha2-nistp999 AAAAE2VjZHNhLXNoYTItbmlzdHA5OTk= x",
    "ssh-rsa not-base64!! x",
    "ssh-rsa",
])
def test_keypair_import_of_a_bad_key_is_400(client, demo_headers, public_key):
    response = client.post("/compute/v2.1/os-keypairs", headers=demo_headers, json={
        "keypair": {"name": f"kp-{uuid.uuid4().hex[:8]}", "public_key": public_key}})
    assert compute_fault(response, 400).startswith("Keypair data is invalid")


def _body_routes(app):
    """(method, path) of every route that takes a body, ids filled with a UUID."""
    import re
    fill = str(uuid.uuid4())
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH"}):
            yield method, re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", fill, rule.rule)


@pytest.mark.parametrize("data", [
    "[" * 100_000 + "]" * 100_000, '{"a": "b\\u0000"}', '{"a": NaN}', '["\\udc00"]'])
def test_bad_json_is_4xx_on_every_route_that_takes_a_body(app, client, admin_headers, data):
    routes = list(_body_routes(app))
    assert len(routes) >= 23
    for method, path in routes:
        for headers in (admin_headers, {}):
            response = client.open(path, method=method, data=data, headers={
                **headers, "Content-Type": "application/json"})
            assert 400 <= response.status_code < 500, (method, path, response.status_code)
            if path.startswith("/identity"):
                identity_error(response, response.status_code)
            elif path.startswith("/network"):
                neutron_error(response, response.status_code)
            else:
                compute_fault(response, response.status_code)
