"""Fixtures for tests that run the services as real processes."""
import os

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD, DEMO_PASSWORD


class CloudClient:
    """A tiny HTTP client for the running cloud: logs in and calls the APIs."""

    def __init__(self, url, user, password, project):
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
        response = self.http.post("/identity/v3/auth/tokens", json=body)
        response.raise_for_status()
        self.token = response.headers["X-Subject-Token"]
        self.http.headers["X-Auth-Token"] = self.token

    def compute(self, method, path, **kwargs):
        return self.http.request(method, "/compute/v2.1" + path, **kwargs)

    def image(self, method, path, **kwargs):
        return self.http.request(method, "/image/v2" + path, **kwargs)


@pytest.fixture(scope="session")
def cloud(configured, postgres, rabbit, state_dir):
    """The services as processes (two fake hosts) on a database of their own.

    Never the in-process code's database: two deployments sharing one outbox
    table on two vhosts take each other's rows (each relay sweeps every unsent
    row), so either one's messages could be published where nobody listens."""
    from tests.fixtures.services import Cloud
    running = Cloud(postgres, rabbit, state_dir, configured.identity.fernet_key_file,
                    compute_hosts=("compute1", "compute2"), db_name="cloud").start()
    running.admin = CloudClient(running.url, "admin", ADMIN_PASSWORD, "admin")
    running.demo = CloudClient(running.url, "demo", DEMO_PASSWORD, "demo")
    yield running
    running.stop()


def openstack_env(url, user):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update({
        "OS_AUTH_URL": url + "/identity/v3", "OS_AUTH_TYPE": "password",
        "OS_USERNAME": user,
        "OS_PASSWORD": ADMIN_PASSWORD if user == "admin" else DEMO_PASSWORD,
        "OS_PROJECT_NAME": user, "OS_USER_DOMAIN_NAME": "Default",
        "OS_PROJECT_DOMAIN_NAME": "Default", "OS_REGION_NAME": "RegionOne",
        "OS_IDENTITY_API_VERSION": "3",
    })
    return env


def upload_image(client, name, content):
    """Create a public qcow2 image with ``content`` through the Image API; its id."""
    image = client.image("POST", "/images", json={
        "name": name, "disk_format": "qcow2", "container_format": "bare",
        "visibility": "public"})
    assert image.status_code == 201, image.text
    image_id = image.json()["id"]
    upload = client.image("PUT", f"/images/{image_id}/file", content=content,
                          headers={"Content-Type": "application/octet-stream"})
    assert upload.status_code == 204, upload.text
    return image_id


@pytest.fixture(scope="session")
def cloud_image(cloud):
    """An active public image in the running cloud (a small qcow2-labelled file)."""
    return upload_image(cloud.admin, "e2e-tiny", b"\0" * 65536)
