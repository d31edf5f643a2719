"""ImageService against a small fake Identity v3 + Image v2 served over HTTP:
catalog lookup, verified and cached downloads (once under concurrency), and
streamed snapshot uploads."""
import hashlib
import os
import threading
import time

import flask
import pytest
from werkzeug.serving import make_server

from nova_lite.compute import image_service
from nova_lite.compute.virt.libvirt import disks
from tests.fixtures.libvirtd import conf_overrides
from tests.fixtures.ports import free_port

DATA = os.urandom(300 * 1024)


class FakeCloud:
    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.images = {"img-1": {"id": "img-1", "status": "active", "disk_format": "qcow2",
                                 "container_format": "bare", "size": len(DATA),
                                 "checksum": hashlib.md5(DATA).hexdigest()}}
        self.files = {"img-1": DATA}
        self.downloads = 0
        self.requests = []
        self.app = self._app()
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _app(self):
        app = flask.Flask("fake-cloud")

        @app.post("/identity/v3/auth/tokens")
        def tokens():
            body = flask.request.get_json()
            user = body["auth"]["identity"]["password"]["user"]
            assert user["domain"] == {"name": "Default"}
            catalog = [{"type": "image", "name": "glance", "id": "1", "endpoints": [
                {"id": "e1", "interface": "public", "region": "RegionOne",
                 "region_id": "RegionOne", "url": self.url + "/image"}]}]
            token = {"methods": ["password"], "expires_at": "2999-01-01T00:00:00.000000Z",
                     "issued_at": "2000-01-01T00:00:00.000000Z", "catalog": catalog,
                     "user": {"id": "u", "name": user["name"], "domain": {"id": "default"}},
                     "project": {"id": "p", "name": "service", "domain": {"id": "default"}},
                     "roles": [{"id": "r", "name": "admin"}]}
            return flask.jsonify({"token": token}), 201, {"X-Subject-Token": "tok"}

        @app.get("/image/v2/images/<image_id>")
        def show(image_id):
            self._seen()
            if image_id not in self.images:
                return {"message": "not found"}, 404
            return flask.jsonify(self.images[image_id])

        @app.patch("/image/v2/images/<image_id>")
        def update(image_id):
            self._seen()
            for op in flask.request.get_json(force=True):
                self.images[image_id][op["path"].strip("/")] = op["value"]
            return flask.jsonify(self.images[image_id])

        @app.get("/image/v2/images/<image_id>/file")
        def download(image_id):
            self._seen()
            self.downloads += 1
            time.sleep(0.2)             # long enough for concurrent callers to overlap
            return flask.Response(self.files[image_id], mimetype="application/octet-stream")

        @app.put("/image/v2/images/<image_id>/file")
        def upload(image_id):
            self._seen()
            self.files[image_id] = flask.request.get_data()
            self.images[image_id]["status"] = "active"
            return "", 204

        return app

    def _seen(self):
        request = flask.request
        assert request.headers.get("X-Auth-Token") == "tok"
        self.requests.append((request.method, request.path, request.content_type,
                              request.content_length))

    def stop(self):
        self._server.shutdown()


@pytest.fixture
def cloud():
    server = FakeCloud()
    yield server
    server.stop()


@pytest.fixture
def service(cloud, tmp_path):
    values = {(None, "state_path"): str(tmp_path),
              ("service_auth", "auth_url"): cloud.url + "/identity/v3",
              ("service_auth", "username"): "nova-lite",
              ("service_auth", "password"): "secret",
              ("service_auth", "project_name"): "service",
              ("service_auth", "region_name"): "RegionOne"}
    with conf_overrides(values):
        yield image_service.ImageService()


def test_download_verifies_and_caches(service, cloud, tmp_path):
    image = service.download("img-1")
    assert image.path == str(tmp_path / "instances" / "_base" / "img-1")
    assert (image.image_id, image.disk_format) == ("img-1", "qcow2")
    with open(image.path, "rb") as handle:
        assert handle.read() == DATA
    found = os.stat(image.path)
    assert found.st_mode & 0o777 == 0o640         # QEMU's group only, never everyone
    if os.geteuid() == 0:
        assert (found.st_uid, found.st_gid) == (0, disks.qemu_owner()[1])
    again = service.download("img-1")
    assert again.path == image.path
    assert cloud.downloads == 1


def test_concurrent_downloads_fetch_once(service, cloud):
    results = []
    threads = [threading.Thread(target=lambda: results.append(service.download("img-1").path))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and len(results) == 4
    assert cloud.downloads == 1


def test_checksum_mismatch_keeps_nothing(service, cloud, tmp_path):
    cloud.images["img-1"]["checksum"] = "0" * 32
    with pytest.raises(image_service.ImageServiceError, match="arrived corrupted"):
        service.download("img-1")
    cache = tmp_path / "instances" / "_base"
    assert [name for name in os.listdir(cache) if not name.endswith(".lock")] == []


def test_inactive_or_missing_images_are_errors(service, cloud):
    cloud.images["img-1"]["status"] = "queued"
    with pytest.raises(image_service.ImageServiceError, match="is queued, not active"):
        service.download("img-1")
    with pytest.raises(image_service.ImageServiceError, match="HTTP 404"):
        service.download("nope")


def test_upload_records_the_format_and_streams_the_file(service, cloud, tmp_path):
    cloud.images["snap-1"] = {"id": "snap-1", "status": "queued", "disk_format": None,
                              "container_format": None}
    snapshot = tmp_path / "snap.qcow2"
    snapshot.write_bytes(DATA)
    service.upload("snap-1", str(snapshot), "qcow2")
    assert cloud.files["snap-1"] == DATA
    assert cloud.images["snap-1"]["disk_format"] == "qcow2"
    assert cloud.images["snap-1"]["container_format"] == "bare"
    put = [r for r in cloud.requests if r[0] == "PUT"]
    assert put == [("PUT", "/image/v2/images/snap-1/file", "application/octet-stream",
                    len(DATA))]
    patch = [r for r in cloud.requests if r[0] == "PATCH"]
    assert patch[0][2] == image_service.JSON_PATCH


def test_upload_skips_the_patch_when_the_record_agrees(service, cloud, tmp_path):
    cloud.images["snap-2"] = {"id": "snap-2", "status": "queued", "disk_format": "qcow2",
                              "container_format": "bare"}
    snapshot = tmp_path / "snap.qcow2"
    snapshot.write_bytes(b"x" * 10)
    service.upload("snap-2", str(snapshot), "qcow2")
    assert not [r for r in cloud.requests if r[0] == "PATCH"]


def test_missing_auth_url_is_a_clear_error(tmp_path):
    values = {("service_auth", "auth_url"): None, (None, "state_path"): str(tmp_path)}
    with conf_overrides(values), pytest.raises(image_service.ImageServiceError,
                                               match="auth_url is not set"):
        image_service.ImageService().download("img-1")
