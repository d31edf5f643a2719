"""Two controllers, one database: an image uploaded through one API is
downloaded through the other, which has no disk in common with it.

Two real ``nova-lite-api`` processes (gunicorn), each with a state_path (so a
storage_dir) of its own, on one database and vhost of their own, as two
controllers behind a load balancer. Prints the upload and download rates
(``-s`` shows them); nothing is asserted about them. NL_IMAGE_MB sets the
image's size (default 8)."""
import hashlib
import os
import time

import pytest

from tests.fixtures import ports
from tests.fixtures.services import Cloud
from tests.fixtures.cloud import CloudClient, upload_image
from tests.fixtures.credentials import ADMIN_PASSWORD

OCTET = {"Content-Type": "application/octet-stream"}


@pytest.fixture
def controllers(configured, postgres, rabbit, state_dir):
    common = dict(db_name="image_ha", vhost="image_ha", api_workers=1)
    first = Cloud(postgres, rabbit, state_dir, configured.identity.fernet_key_file,
                  name="image-ha-1", **common)
    second = Cloud(postgres, rabbit, state_dir, configured.identity.fernet_key_file,
                   name="image-ha-2", **common)
    try:
        for cloud in (first, second):
            cloud.write_config()
        first.prepare()
        for cloud in (first, second):
            cloud.start_service("api")
        for cloud in (first, second):
            ports.wait_for_port("127.0.0.1", cloud.port, 60, cloud.procs["api"])
        yield first, second
    finally:
        first.stop()
        second.stop()


def test_image_uploaded_through_one_controller_downloads_through_another(controllers):
    first, second = controllers
    assert first.state_dir != second.state_dir
    one = CloudClient(first.url, "admin", ADMIN_PASSWORD, "admin")
    two = CloudClient(second.url, "admin", ADMIN_PASSWORD, "admin")
    size = int(os.environ.get("NL_IMAGE_MB", "8")) * 1024 * 1024
    data = os.urandom(size)

    started = time.monotonic()
    image_id = upload_image(one, "across-controllers", data)
    uploaded = time.monotonic() - started
    assert not os.path.exists(os.path.join(first.state_dir, "images", image_id))

    started = time.monotonic()
    digest, received = hashlib.md5(), 0
    with two.http.stream("GET", f"/image/v2/images/{image_id}/file") as response:
        assert response.status_code == 200
        assert int(response.headers["Content-Length"]) == size
        for piece in response.iter_bytes():
            digest.update(piece)
            received += len(piece)
    downloaded = time.monotonic() - started
    assert received == size
    assert digest.hexdigest() == hashlib.md5(data).hexdigest()
    assert response.headers["Content-MD5"] == digest.hexdigest()
    mib = size / 1024 / 1024
    print(f"\n{mib:.0f} MiB: upload {uploaded:.2f} s ({mib / uploaded:.0f} MiB/s) "
          f"through one API, download {downloaded:.2f} s "
          f"({mib / downloaded:.0f} MiB/s) through the other")

    # Deleted through the second: gone for the first too.
    assert two.image("DELETE", f"/images/{image_id}").status_code == 204
    assert one.image("GET", f"/images/{image_id}/file").status_code == 404
    with first.session() as session:
        from sqlalchemy import text
        left = session.execute(text("SELECT count(*) FROM image_chunks "
                                    "WHERE image_id = :i"), {"i": image_id}).scalar()
    assert left == 0
