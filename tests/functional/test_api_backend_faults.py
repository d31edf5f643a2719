"""A backend that is briefly away is a 503 with Retry-After, never a 500.

PostgreSQL is really stopped (a fast shutdown, as a restart does) under the
in-process API: every API answers 503 in its own error format with a
Retry-After header, and once PostgreSQL is back the same requests succeed.
A request that failed meanwhile left nothing behind."""
import uuid

import pytest
from sqlalchemy import text

from tests.fixtures import credentials
from tests.fixtures.credentials import DEMO_PASSWORD
from tests.fixtures.images import upload_image

PROJECT = "backend-faults"


@pytest.fixture(scope="module")
def headers(app):
    """A user in a project of its own: no network, so a server gets no NIC."""
    from nova_lite.db import bootstrap
    bootstrap.ensure_user("faults-user", DEMO_PASSWORD, PROJECT, "member")
    return credentials.login(app.test_client(), "faults-user", DEMO_PASSWORD, PROJECT)


@pytest.fixture(scope="module")
def image_id(app, admin_headers):
    return upload_image(app.test_client(), admin_headers, "backend-faults")


def login(client, headers, image_id, name):
    return credentials.login_response(client, "faults-user", DEMO_PASSWORD, PROJECT)


def list_servers(client, headers, image_id, name):
    return client.get("/compute/v2.1/servers", headers=headers)


def create_server(client, headers, image_id, name):
    return client.post("/compute/v2.1/servers", headers=headers, json={"server": {
        "name": name, "imageRef": image_id, "flavorRef": "1"}})


def list_images(client, headers, image_id, name):
    return client.get("/image/v2/images", headers=headers)


def show_image(client, headers, image_id, name):
    return client.get(f"/image/v2/images/{image_id}", headers=headers)


def list_networks(client, headers, image_id, name):
    return client.get("/network/v2.0/networks", headers=headers)


def create_network(client, headers, image_id, name):
    return client.post("/network/v2.0/networks", headers=headers,
                       json={"network": {"name": name}})


def compute_fault(body):
    (name, fault), = body.items()
    assert name == "serviceUnavailable" and fault["code"] == 503
    return fault["message"]


def identity_error(body):
    assert body["error"]["code"] == 503
    assert body["error"]["title"] == "Service Unavailable"
    return body["error"]["message"]


def neutron_error(body):
    assert body["NeutronError"]["type"] == "HTTPServiceUnavailable"
    assert body["NeutronError"]["detail"] == ""
    return body["NeutronError"]["message"]


@pytest.mark.parametrize("send,fault,ok", [
    (login, identity_error, 201),
    (list_servers, compute_fault, 200),
    (create_server, compute_fault, 202),
    (list_images, compute_fault, 200),
    (show_image, compute_fault, 200),
    (list_networks, neutron_error, 200),
    (create_network, neutron_error, 201),
], ids=lambda v: getattr(v, "__name__", str(v)))
def test_a_database_outage_is_503_with_retry_after_then_requests_work(
        client, postgres, headers, image_id, send, fault, ok):
    name = f"faults-{uuid.uuid4().hex[:8]}"
    with postgres.down():
        # Twice: the first finds the pooled connection PostgreSQL ended, the
        # second has to open one and is refused ("Connection refused").
        for _ in range(2):
            response = send(client, headers, image_id, name)
            assert response.status_code == 503, response.get_data(as_text=True)
            assert int(response.headers["Retry-After"]) > 0
            assert "try again" in fault(response.json)
            assert response.headers["X-Openstack-Request-Id"].startswith("req-")
    assert not _named(name), "a request that got 503 left rows behind"

    response = send(client, headers, image_id, name)
    assert response.status_code == ok, response.get_data(as_text=True)
    assert "Retry-After" not in response.headers


def _named(name):
    """Rows of any kind the test's requests may have made under ``name``."""
    from nova_lite.db.session import reader
    with reader() as session:
        return session.execute(text(
            "SELECT uuid::text FROM instances WHERE name = :n "
            "UNION ALL SELECT id::text FROM networks WHERE name = :n"),
            {"n": name}).all()
