"""Bad input sent over real HTTP to nova-lite-api under gunicorn: what
gunicorn itself would refuse with a plain-HTML page (a request line or header
over its limits) answers in the API's JSON, and the body limit holds for
Content-Length and chunked bodies while image uploads stream past it."""
import json
import socket

import httpx
import pytest

from nova_lite.conf import CONF
from tests.fixtures import ports
from tests.fixtures.credentials import DEMO_PASSWORD, login

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def api(configured, postgres, rabbit, state_dir):
    """nova-lite-api alone (gunicorn, one worker) on a database of its own."""
    from tests.fixtures.services import Cloud
    cloud = Cloud(postgres, rabbit, state_dir, configured.identity.fernet_key_file,
                  compute_hosts=(), name="input-api", db_name="input_api", api_workers=1)
    cloud.write_config()
    cloud.prepare()
    cloud.start_service("api")
    try:
        ports.wait_for_port("127.0.0.1", cloud.port, 60, cloud.procs["api"])
        yield cloud
    finally:
        cloud.stop()


def raw_request(api, head, body=b"", chunks=None):
    """Send ``head`` (request line and headers, without the blank line) and
    ``body`` or ``chunks`` (chunked encoding) on one connection; the response
    as (status, headers text, body bytes)."""
    with socket.create_connection(("127.0.0.1", api.port), timeout=30) as sock:
        data = head.encode("latin-1") + b"\r\nHost: x\r\nConnection: close\r\n"
        if chunks is not None:
            data += b"Transfer-Encoding: chunked\r\n\r\n" + b"".join(
                b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
        else:
            data += b"\r\n" + body
        sock.sendall(data)
        received = b""
        while True:
            try:
                part = sock.recv(65536)
            except ConnectionResetError:
                break
            if not part:
                break
            received += part
    head_text, _, payload = received.partition(b"\r\n\r\n")
    status = int(head_text.split(b" ", 2)[1])
    return status, head_text.decode("latin-1"), payload


def json_error(response, code):
    status, head, payload = response
    assert status == code, payload[:500]
    assert "application/json" in head.lower(), head
    return json.loads(payload)


def test_a_url_longer_than_gunicorn_allows_is_414_json(api):
    path = "/compute/v2.1/flavors?name=" + "a" * (2 * CONF.api.max_url_length)
    body = json_error(raw_request(api, f"GET {path} HTTP/1.1"), 414)
    assert body["requestUriTooLong"]["code"] == 414


def test_a_header_larger_than_gunicorn_allows_is_431_json(api):
    head = "GET /compute/v2.1/flavors HTTP/1.1\r\nX-Big: " + "a" * 20000
    body = json_error(raw_request(api, head), 431)
    assert body["requestHeaderFieldsTooLarge"]["code"] == 431
    head = "GET /identity/v3 HTTP/1.1\r\nX-Big: " + "a" * 20000
    assert json_error(raw_request(api, head), 431)["error"]["code"] == 431


def test_more_headers_than_gunicorn_allows_are_served(api):
    head = "GET /compute/ HTTP/1.1\r\n" + "\r\n".join(f"X-H{n}: v" for n in range(300))
    status, head_text, payload = raw_request(api, head)
    assert status == 200, payload[:500]
    assert "versions" in json.loads(payload)


@pytest.mark.parametrize("path", ["/compute/v2.1/flavors/%00", "/compute/v2.1/flavors/%ff",
                                  "/compute/v2.1/flavors?name=%00"])
def test_nul_and_bad_bytes_in_the_url_are_400_json(api, path):
    body = json_error(raw_request(api, f"GET {path} HTTP/1.1"), 400)
    assert body["badRequest"]["code"] == 400


def test_a_body_announced_over_the_limit_is_413_at_once(api):
    head = ("POST /identity/v3/auth/tokens HTTP/1.1\r\nContent-Type: application/json"
            f"\r\nContent-Length: {50 * 1024 * 1024}")
    body = json_error(raw_request(api, head), 413)
    assert body["error"]["code"] == 413 and "larger than" in body["error"]["message"]


def test_a_chunked_body_over_the_limit_is_413(api):
    head = "POST /identity/v3/auth/tokens HTTP/1.1\r\nContent-Type: application/json"
    chunk = b" " * 16384
    count = CONF.api.max_request_body_size // len(chunk) + 2
    body = json_error(raw_request(api, head, chunks=[b"{"] + [chunk] * count + [b"}"]),
                      413)
    assert body["error"]["code"] == 413 and "larger than" in body["error"]["message"]


def test_a_deeply_nested_login_body_is_400_json(api):
    data = b"[" * 100_000 + b"]" * 100_000
    head = ("POST /identity/v3/auth/tokens HTTP/1.1\r\nContent-Type: application/json"
            f"\r\nContent-Length: {len(data)}")
    assert json_error(raw_request(api, head, data), 400)["error"]["code"] == 400


def test_an_image_upload_over_the_body_limit_streams(api):
    with httpx.Client(base_url=api.url, timeout=30) as http:
        http.headers.update(login(http, "demo", DEMO_PASSWORD, "demo"))
        image = http.post("/image/v2/images", json={
            "name": "big", "disk_format": "raw", "container_format": "bare"})
        assert image.status_code == 201, image.text
        data = b"\x02" * (3 * CONF.api.max_request_body_size)
        upload = http.put(f"/image/v2/images/{image.json()['id']}/file", content=data,
                          headers={"Content-Type": "application/octet-stream"})
        assert upload.status_code == 204, upload.text
        chunked = http.post("/image/v2/images", json={
            "name": "big-chunked", "disk_format": "raw", "container_format": "bare"})
        upload = http.put(f"/image/v2/images/{chunked.json()['id']}/file",
                          content=iter([data[:100_000], data[100_000:]]),
                          headers={"Content-Type": "application/octet-stream"})
        assert upload.status_code == 204, upload.text
        shown = http.get(f"/image/v2/images/{chunked.json()['id']}")
        assert shown.json()["size"] == len(data)
