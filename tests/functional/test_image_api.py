"""Image v2 API and the Compute images proxy, in-process against the real
PostgreSQL, plus one run of the real `openstack` CLI over HTTP."""
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import urllib.parse
import uuid

import pytest
from werkzeug.exceptions import ClientDisconnected
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from sqlalchemy import func, select

from nova_lite.conf import CONF
from nova_lite.db.models import ImageChunk
from nova_lite.db.session import reader

IMAGES = "/image/v2/images"
PATCH_TYPE = "application/openstack-images-v2.1-json-patch"
OCTET = {"Content-Type": "application/octet-stream"}


def unique(prefix="img"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create(client, headers, expect=201, **body):
    body.setdefault("name", unique())
    body.setdefault("disk_format", "qcow2")
    body.setdefault("container_format", "bare")
    response = client.post(IMAGES, json=body, headers=headers)
    assert response.status_code == expect, response.get_data(as_text=True)
    return response.json


def upload(client, headers, image_id, data, expect=204):
    response = client.put(f"{IMAGES}/{image_id}/file", data=data,
                          headers={**headers, **OCTET})
    assert response.status_code == expect, response.get_data(as_text=True)
    return response


def put_unsized(client, url, headers, stream):
    """PUT ``stream`` as a body without Content-Length (like chunked encoding)."""
    environ = EnvironBuilder(path=url, method="PUT", headers={**headers, **OCTET},
                             data=b"").get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ.pop("HTTP_CONTENT_LENGTH", None)
    environ["wsgi.input"] = stream
    environ["wsgi.input_terminated"] = True
    return client.open(Request(environ))


def show(client, headers, image_id):
    response = client.get(f"{IMAGES}/{image_id}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def patch(client, headers, image_id, operations, expect=200):
    response = client.patch(f"{IMAGES}/{image_id}", data=json.dumps(operations),
                            headers={**headers, "Content-Type": PATCH_TYPE})
    assert response.status_code == expect, response.get_data(as_text=True)
    return response.json


def project_id(client, headers):
    token = headers["X-Auth-Token"]
    response = client.get("/identity/v3/auth/tokens",
                          headers={**headers, "X-Subject-Token": token})
    return response.json["token"]["project"]["id"]


def stored_files(image_id):
    directory = CONF.image.storage_dir
    if not os.path.isdir(directory):
        return []
    return [name for name in os.listdir(directory) if image_id in name]


def stored_chunks(image_id):
    """[(seq, length)] of the image's rows in image_chunks."""
    with reader() as session:
        return [tuple(row) for row in session.execute(
            select(ImageChunk.seq, func.octet_length(ImageChunk.data))
            .where(ImageChunk.image_id == image_id).order_by(ImageChunk.seq))]


def stored(image_id):
    """What the store in use holds of the image: chunk numbers or file names."""
    if CONF.image.store == "database":
        return [seq for seq, _ in stored_chunks(image_id)]
    return stored_files(image_id)


@pytest.fixture(params=["database", "file"])
def image_store(request):
    """Runs the test with each [image] store."""
    CONF.set_override("store", request.param, group="image")
    yield request.param
    CONF.clear_override("store", group="image")


def fault(response, code, name):
    assert response.status_code == code, response.get_data(as_text=True)
    assert response.json[name]["code"] == code
    assert response.json[name]["message"]
    return response.json[name]["message"]


# -- version discovery and schemas -------------------------------------------------

def test_version_documents_are_public_and_point_at_v2(client):
    for path in ("/image", "/image/"):
        response = client.get(path)
        assert response.status_code == 300
        current = [v for v in response.json["versions"] if v["status"] == "CURRENT"]
        assert len(current) == 1 and current[0]["id"].startswith("v2.")
        assert current[0]["links"][0]["href"].endswith("/image/v2/")
    response = client.get("/image/versions")
    assert response.status_code == 200
    assert {v["id"] for v in response.json["versions"]} >= {"v2.0", current[0]["id"]}


def test_schemas(client, demo_headers):
    image = client.get("/image/v2/schemas/image", headers=demo_headers).json
    assert image["name"] == "image"
    assert "qcow2" in image["properties"]["disk_format"]["enum"]
    assert image["additionalProperties"]["type"] == "string"
    images = client.get("/image/v2/schemas/images", headers=demo_headers).json
    assert images["name"] == "images"
    assert images["properties"]["images"]["items"]["name"] == "image"


# -- create, show, upload, download -------------------------------------------------

def test_create_returns_glance_view(client, demo_headers):
    name = unique()
    response = client.post(IMAGES, headers=demo_headers, json={
        "name": name, "disk_format": "raw", "container_format": "bare",
        "min_disk": 1, "min_ram": 64, "tags": ["a", "b"],
        "owner_specified.openstack.md5": "",
        "owner_specified.openstack.object": f"images/{name}"})
    assert response.status_code == 201, response.get_data(as_text=True)
    image = response.json
    assert response.headers["Location"].endswith(f"/image/v2/images/{image['id']}")
    assert uuid.UUID(image["id"])
    assert image["name"] == name
    assert image["status"] == "queued"
    assert image["visibility"] == "shared"
    assert image["protected"] is False and image["os_hidden"] is False
    assert image["owner"] == project_id(client, demo_headers)
    assert (image["min_disk"], image["min_ram"], image["tags"]) == (1, 64, ["a", "b"])
    assert image["size"] is None and image["checksum"] is None
    assert image["owner_specified.openstack.md5"] == ""
    assert image["owner_specified.openstack.object"] == f"images/{name}"
    assert image["self"] == f"/v2/images/{image['id']}"
    assert image["file"] == f"/v2/images/{image['id']}/file"
    assert image["schema"] == "/v2/schemas/image"
    assert image["created_at"].endswith("Z") and image["updated_at"].endswith("Z")
    assert show(client, demo_headers, image["id"]) == image


def test_create_with_client_supplied_id(client, demo_headers):
    image_id = str(uuid.uuid4())
    image = create(client, demo_headers, id=image_id)
    assert image["id"] == image_id
    fault(client.post(IMAGES, json={"id": image_id}, headers=demo_headers),
          409, "conflictingRequest")


def test_upload_computes_hashes_and_download_round_trips(client, demo_headers,
                                                        image_store):
    data = os.urandom(300 * 1024 + 7)          # several store chunks
    image = create(client, demo_headers)
    assert client.get(f"{IMAGES}/{image['id']}/file",
                      headers=demo_headers).status_code == 204
    upload(client, demo_headers, image["id"], data)

    after = show(client, demo_headers, image["id"])
    assert after["status"] == "active"
    assert after["size"] == len(data)
    assert after["checksum"] == hashlib.md5(data).hexdigest()
    assert after["os_hash_algo"] == "sha512"
    assert after["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert stored(image["id"]) == ([0] if image_store == "database" else [image["id"]])

    response = client.get(f"{IMAGES}/{image['id']}/file", headers=demo_headers)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-MD5"] == hashlib.md5(data).hexdigest()
    assert int(response.headers["Content-Length"]) == len(data)
    assert response.data == data

    message = fault(client.put(f"{IMAGES}/{image['id']}/file", data=b"again",
                               headers={**demo_headers, **OCTET}),
                    409, "conflictingRequest")
    assert "active" in message
    assert show(client, demo_headers, image["id"])["checksum"] == after["checksum"]


def test_upload_without_content_length_is_streamed(client, demo_headers):
    data = os.urandom(100 * 1024)
    image = create(client, demo_headers)
    response = put_unsized(client, f"{IMAGES}/{image['id']}/file", demo_headers,
                           io.BytesIO(data))
    assert response.status_code == 204, response.get_data(as_text=True)
    assert show(client, demo_headers, image["id"])["size"] == len(data)


@pytest.fixture
def small_max_size():
    CONF.set_override("max_image_size", 1000, group="image")
    yield 1000
    CONF.clear_override("max_image_size", group="image")


def test_upload_over_max_size_is_413_and_leaves_image_queued(client, demo_headers,
                                                             small_max_size, image_store):
    image = create(client, demo_headers)
    fault(client.put(f"{IMAGES}/{image['id']}/file", data=b"x" * 1001,
                     headers={**demo_headers, **OCTET}), 413, "overLimit")
    # Without a Content-Length the limit is enforced while streaming.
    fault(put_unsized(client, f"{IMAGES}/{image['id']}/file", demo_headers,
                      io.BytesIO(b"x" * 5000)), 413, "overLimit")
    assert show(client, demo_headers, image["id"])["status"] == "queued"
    assert stored(image["id"]) == []
    upload(client, demo_headers, image["id"], b"x" * 1000)
    assert show(client, demo_headers, image["id"])["size"] == 1000


class HookedStream(io.RawIOBase):
    """A request body of one 10-byte chunk. Before delivering it (the upload is
    under way) it calls ``during_upload``; after it, the body ends, or the
    client goes away if ``disconnect``."""

    def __init__(self, during_upload, disconnect):
        self.sent = False
        self.during_upload = during_upload
        self.disconnect = disconnect

    def readable(self):
        return True

    def readinto(self, buffer):
        if self.sent:
            if self.disconnect:
                raise ClientDisconnected()
            return 0
        self.sent = True
        self.during_upload()
        buffer[:10] = b"0123456789"
        return 10


def test_failed_upload_returns_to_queued_and_removes_partial_file(client, app,
                                                                  demo_headers,
                                                                  image_store):
    image = create(client, demo_headers)
    seen = {}

    def during_upload():
        other = app.test_client()
        seen["status"] = show(other, demo_headers, image["id"])["status"]
        seen["second upload"] = other.put(f"{IMAGES}/{image['id']}/file", data=b"x",
                                          headers={**demo_headers, **OCTET}).status_code

    response = put_unsized(client, f"{IMAGES}/{image['id']}/file", demo_headers,
                           HookedStream(during_upload, disconnect=True))
    fault(response, 400, "badRequest")
    assert seen == {"status": "saving", "second upload": 409}
    assert show(client, demo_headers, image["id"])["status"] == "queued"
    assert stored(image["id"]) == []
    upload(client, demo_headers, image["id"], b"second try")
    assert show(client, demo_headers, image["id"])["status"] == "active"


def test_image_deleted_during_upload_keeps_no_file(client, app, demo_headers,
                                                   image_store):
    image = create(client, demo_headers)

    def during_upload():
        response = app.test_client().delete(f"{IMAGES}/{image['id']}",
                                            headers=demo_headers)
        assert response.status_code == 204

    response = put_unsized(client, f"{IMAGES}/{image['id']}/file", demo_headers,
                           HookedStream(during_upload, disconnect=False))
    fault(response, 409, "conflictingRequest")
    assert stored(image["id"]) == []
    fault(client.get(f"{IMAGES}/{image['id']}", headers=demo_headers), 404, "itemNotFound")


MIB = 1024 * 1024


class SlowBody(io.RawIOBase):
    """A request body of ``data`` in 64 KiB reads. Once ``hook_at`` bytes have
    been delivered it calls ``hook`` (once); at ``disconnect_at`` bytes the
    client goes away."""

    def __init__(self, data, hook_at=None, hook=None, disconnect_at=None):
        self.data, self.pos = data, 0
        self.hook_at, self.hook, self.disconnect_at = hook_at, hook, disconnect_at

    def readable(self):
        return True

    def readinto(self, buffer):
        if self.hook and self.pos >= self.hook_at:
            hook, self.hook = self.hook, None
            hook()
        if self.disconnect_at is not None and self.pos >= self.disconnect_at:
            raise ClientDisconnected()
        n = min(len(buffer), 64 * 1024, len(self.data) - self.pos)
        buffer[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n


@pytest.mark.parametrize("length, chunks", [
    (0, [(0, 0)]),                                      # an empty image is one empty row
    (2 * MIB, [(0, MIB), (1, MIB)]),
    (2 * MIB + 5, [(0, MIB), (1, MIB), (2, 5)]),
])
def test_database_store_keeps_1_mib_chunks(client, demo_headers, length, chunks):
    assert CONF.image.store == "database"               # the default
    data = os.urandom(length)
    image = create(client, demo_headers)
    response = put_unsized(client, f"{IMAGES}/{image['id']}/file", demo_headers,
                           SlowBody(data))              # reads shorter than a chunk
    assert response.status_code == 204, response.get_data(as_text=True)
    assert stored_chunks(image["id"]) == chunks
    after = show(client, demo_headers, image["id"])
    assert (after["size"], after["checksum"]) == (length, hashlib.md5(data).hexdigest())
    response = client.get(f"{IMAGES}/{image['id']}/file", headers=demo_headers)
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == length
    assert response.data == data


def test_download_through_another_api_without_the_disk(client, demo_headers, tmp_path):
    """Another controller (a second app, its storage_dir empty) serves the
    bytes uploaded through this one; with the file store it could not."""
    from nova_lite.api.app import create_app
    data = os.urandom(3 * MIB + 17)
    image = create(client, demo_headers)
    upload(client, demo_headers, image["id"], data)
    other = create_app(start_relay=False)
    other.testing = True
    CONF.set_override("storage_dir", str(tmp_path / "elsewhere"), group="image")
    try:
        response = other.test_client().get(f"{IMAGES}/{image['id']}/file",
                                           headers=demo_headers)
        assert response.status_code == 200
        assert response.headers["Content-MD5"] == hashlib.md5(data).hexdigest()
        assert response.data == data
        # The file store on a disk of its own: the data is not there.
        CONF.set_override("store", "file", group="image")
        local = create(client, demo_headers)
        upload(client, demo_headers, local["id"], b"on this disk only")
        CONF.set_override("storage_dir", str(tmp_path / "third"), group="image")
        fault(other.test_client().get(f"{IMAGES}/{local['id']}/file",
                                      headers=demo_headers), 404, "itemNotFound")
    finally:
        CONF.clear_override("storage_dir", group="image")
        CONF.clear_override("store", group="image")


def test_database_store_reads_files_of_images_uploaded_before_it(client, demo_headers):
    CONF.set_override("store", "file", group="image")
    try:
        image = create(client, demo_headers)
        upload(client, demo_headers, image["id"], b"from the file store")
    finally:
        CONF.clear_override("store", group="image")
    assert stored_chunks(image["id"]) == []
    response = client.get(f"{IMAGES}/{image['id']}/file", headers=demo_headers)
    assert response.data == b"from the file store"
    assert client.delete(f"{IMAGES}/{image['id']}", headers=demo_headers).status_code == 204
    assert stored_files(image["id"]) == []


def test_failed_upload_mid_stream_leaves_no_chunks(client, demo_headers):
    data = os.urandom(3 * MIB)
    image = create(client, demo_headers)
    seen = {}

    def after_two_chunks():
        seen["chunks"] = [seq for seq, _ in stored_chunks(image["id"])]
        seen["status"] = show(client.application.test_client(), demo_headers,
                              image["id"])["status"]
        seen["download"] = client.application.test_client().get(
            f"{IMAGES}/{image['id']}/file", headers=demo_headers).status_code

    response = put_unsized(client, f"{IMAGES}/{image['id']}/file", demo_headers,
                           SlowBody(data, hook_at=2 * MIB + 64 * 1024,
                                    hook=after_two_chunks,
                                    disconnect_at=2 * MIB + 128 * 1024))
    fault(response, 400, "badRequest")
    # Two chunks were in the table, but no reader could see them.
    assert seen == {"chunks": [0, 1], "status": "saving", "download": 204}
    assert stored_chunks(image["id"]) == []
    assert show(client, demo_headers, image["id"])["status"] == "queued"
    upload(client, demo_headers, image["id"], data[:MIB + 1])
    assert stored_chunks(image["id"]) == [(0, MIB), (1, 1)]


def test_oversize_upload_after_chunks_were_written_leaves_none(client, demo_headers):
    CONF.set_override("max_image_size", MIB + MIB // 2, group="image")
    try:
        image = create(client, demo_headers)
        fault(put_unsized(client, f"{IMAGES}/{image['id']}/file", demo_headers,
                          SlowBody(os.urandom(3 * MIB))), 413, "overLimit")
    finally:
        CONF.clear_override("max_image_size", group="image")
    assert stored_chunks(image["id"]) == []
    assert show(client, demo_headers, image["id"])["status"] == "queued"


def test_upload_errors(client, demo_headers):
    image = create(client, demo_headers)
    fault(client.put(f"{IMAGES}/{image['id']}/file", data=b"abc",
                     headers={**demo_headers, "Content-Type": "application/json"}),
          415, "badMediaType")
    fault(client.put(f"{IMAGES}/not-a-uuid/file", data=b"abc",
                     headers={**demo_headers, **OCTET}), 404, "itemNotFound")
    fault(client.put(f"{IMAGES}/{uuid.uuid4()}/file", data=b"abc",
                     headers={**demo_headers, **OCTET}), 404, "itemNotFound")
    formatless = client.post(IMAGES, json={"name": unique()}, headers=demo_headers).json
    fault(client.put(f"{IMAGES}/{formatless['id']}/file", data=b"abc",
                     headers={**demo_headers, **OCTET}), 400, "badRequest")
    assert show(client, demo_headers, formatless["id"])["status"] == "queued"


# -- list ---------------------------------------------------------------------------

def test_list_pages_with_limit_marker_and_next(client, demo_headers):
    batch = uuid.uuid4().hex
    names = sorted(unique(f"page{i}") for i in range(5))
    for name in reversed(names):
        create(client, demo_headers, name=name, batch=batch)
    seen, url, pages = [], f"{IMAGES}?limit=2&sort_key=name&sort_dir=asc&batch={batch}", 0
    while url:
        response = client.get(url, headers=demo_headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.json
        assert body["schema"] == "/v2/schemas/images"
        assert body["first"].startswith("/v2/images?")
        seen += [image["name"] for image in body["images"]]
        pages += 1
        url = "/image" + body["next"] if "next" in body else None
        if url:
            query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
            assert query["batch"] == [batch] and query["limit"] == ["2"]
            assert query["marker"] == [body["images"][-1]["id"]]
    assert seen == names
    assert pages == 3          # 2 + 2 + 1: the last page is not full, so no next

    default = client.get(f"{IMAGES}?batch={batch}", headers=demo_headers).json["images"]
    assert [i["name"] for i in default] == names           # created_at desc
    paged, marker = [], None
    while True:
        query = f"{IMAGES}?batch={batch}&limit=3" + (f"&marker={marker}" if marker else "")
        body = client.get(query, headers=demo_headers).json
        paged += [i["name"] for i in body["images"]]
        if "next" not in body:
            break
        marker = body["images"][-1]["id"]
    assert paged == names
    newest_first = client.get(f"{IMAGES}?batch={batch}&sort=name:desc",
                              headers=demo_headers).json["images"]
    assert [i["name"] for i in newest_first] == names[::-1]


def test_list_filters(client, demo_headers, admin_headers):
    batch = uuid.uuid4().hex
    active = create(client, demo_headers, batch=batch, tags=["gold"])
    upload(client, demo_headers, active["id"], b"data")
    queued = create(client, demo_headers, batch=batch, visibility="private")
    public = create(client, admin_headers, batch=batch, visibility="public")

    def ids(query, headers=demo_headers):
        response = client.get(f"{IMAGES}?batch={batch}&{query}", headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        return {i["id"] for i in response.json["images"]}

    assert ids("") == {active["id"], queued["id"], public["id"]}
    assert ids(f"name={queued['name']}") == {queued["id"]}
    assert ids("status=active") == {active["id"]}
    assert ids("status=queued") == {queued["id"], public["id"]}
    assert ids("visibility=private") == {queued["id"]}
    assert ids("visibility=public") == {public["id"]}
    assert ids(f"owner={public['owner']}") == {public["id"]}
    assert ids("tag=gold") == {active["id"]}
    assert ids("os_hidden=true") == set()


# -- visibility ----------------------------------------------------------------------

def test_visibility_between_projects(client, demo_headers, admin_headers):
    batch = uuid.uuid4().hex
    demo_private = create(client, demo_headers, batch=batch, visibility="private")
    admin_private = create(client, admin_headers, batch=batch, visibility="private")
    admin_public = create(client, admin_headers, batch=batch, visibility="public")
    fault(client.post(IMAGES, json={"name": "x", "visibility": "public"},
                      headers=demo_headers), 403, "forbidden")

    def listed(headers):
        return {i["id"] for i in client.get(f"{IMAGES}?batch={batch}",
                                            headers=headers).json["images"]}

    assert listed(demo_headers) == {demo_private["id"], admin_public["id"]}
    assert listed(admin_headers) == {demo_private["id"], admin_private["id"],
                                     admin_public["id"]}
    fault(client.get(f"{IMAGES}/{admin_private['id']}", headers=demo_headers),
          404, "itemNotFound")
    fault(client.get(f"{IMAGES}/{admin_private['id']}/file", headers=demo_headers),
          404, "itemNotFound")
    assert show(client, demo_headers, admin_public["id"])["id"] == admin_public["id"]
    assert show(client, admin_headers, demo_private["id"])["id"] == demo_private["id"]

    # Seeing an image is not owning it.
    fault(client.delete(f"{IMAGES}/{admin_public['id']}", headers=demo_headers),
          403, "forbidden")
    fault(client.patch(f"{IMAGES}/{admin_public['id']}",
                       data=json.dumps([{"op": "replace", "path": "/name", "value": "x"}]),
                       headers={**demo_headers, "Content-Type": PATCH_TYPE}),
          403, "forbidden")
    fault(client.put(f"{IMAGES}/{admin_public['id']}/file", data=b"x",
                     headers={**demo_headers, **OCTET}), 403, "forbidden")
    fault(client.delete(f"{IMAGES}/{admin_private['id']}", headers=demo_headers),
          404, "itemNotFound")
    fault(client.post(IMAGES, json={"owner": project_id(client, admin_headers)},
                      headers=demo_headers), 403, "forbidden")
    # A marker the caller cannot see is a bad marker.
    fault(client.get(f"{IMAGES}?marker={admin_private['id']}", headers=demo_headers),
          400, "badRequest")


# -- delete ----------------------------------------------------------------------------

def test_delete_removes_row_and_file(client, demo_headers, image_store):
    image = create(client, demo_headers)
    upload(client, demo_headers, image["id"], b"to be deleted")
    assert stored(image["id"]) == ([0] if image_store == "database" else [image["id"]])
    assert client.delete(f"{IMAGES}/{image['id']}", headers=demo_headers).status_code == 204
    assert stored(image["id"]) == []
    fault(client.get(f"{IMAGES}/{image['id']}", headers=demo_headers), 404, "itemNotFound")
    fault(client.delete(f"{IMAGES}/{image['id']}", headers=demo_headers),
          404, "itemNotFound")
    listed = client.get(f"{IMAGES}?name={image['name']}", headers=demo_headers).json
    assert listed["images"] == []


def test_protected_image_cannot_be_deleted_until_unprotected(client, demo_headers):
    image = create(client, demo_headers, protected=True)
    message = fault(client.delete(f"{IMAGES}/{image['id']}", headers=demo_headers),
                    403, "forbidden")
    assert "protected" in message
    assert show(client, demo_headers, image["id"])["status"] == "queued"
    patch(client, demo_headers, image["id"],
          [{"op": "replace", "path": "/protected", "value": False}])
    assert client.delete(f"{IMAGES}/{image['id']}", headers=demo_headers).status_code == 204


# -- patch -------------------------------------------------------------------------------

def test_patch_add_replace_remove(client, demo_headers):
    image = create(client, demo_headers, os_distro="debian", tags=["one"])
    new_name = unique("renamed")
    patched = patch(client, demo_headers, image["id"], [
        {"op": "replace", "path": "/name", "value": new_name},
        {"op": "add", "path": "/min_disk", "value": 5},
        {"op": "replace", "path": "/min_ram", "value": 512},
        {"op": "replace", "path": "/visibility", "value": "private"},
        {"op": "replace", "path": "/protected", "value": True},
        {"op": "replace", "path": "/tags", "value": ["x", "y"]},
        {"op": "add", "path": "/hw_disk_bus", "value": "virtio"},
        {"op": "add", "path": "/os_distro", "value": "ubuntu"},     # add overwrites
        {"op": "add", "path": "/a~1b", "value": "slash"},
    ])
    assert patched["name"] == new_name
    assert (patched["min_disk"], patched["min_ram"]) == (5, 512)
    assert patched["visibility"] == "private" and patched["protected"] is True
    assert patched["tags"] == ["x", "y"]
    assert patched["hw_disk_bus"] == "virtio" and patched["os_distro"] == "ubuntu"
    assert patched["a/b"] == "slash"
    assert show(client, demo_headers, image["id"]) == patched

    removed = patch(client, demo_headers, image["id"], [
        {"op": "remove", "path": "/os_distro"},
        {"op": "remove", "path": "/name"},
        {"op": "remove", "path": "/min_disk"},
        {"op": "remove", "path": "/tags"},
        {"op": "remove", "path": "/protected"},
    ])
    assert "os_distro" not in removed and removed["hw_disk_bus"] == "virtio"
    assert removed["name"] is None and removed["min_disk"] == 0
    assert removed["tags"] == [] and removed["protected"] is False


def test_patch_errors_change_nothing(client, demo_headers):
    image = create(client, demo_headers)
    url = f"{IMAGES}/{image['id']}"

    def bad(operations, code, name):
        response = client.patch(url, data=json.dumps(operations),
                                headers={**demo_headers, "Content-Type": PATCH_TYPE})
        fault(response, code, name)

    bad([{"op": "replace", "path": "/missing", "value": "x"}], 409, "conflictingRequest")
    bad([{"op": "remove", "path": "/missing"}], 409, "conflictingRequest")
    bad([{"op": "replace", "path": "/status", "value": "active"}], 403, "forbidden")
    bad([{"op": "replace", "path": "/id", "value": str(uuid.uuid4())}], 403, "forbidden")
    bad([{"op": "replace", "path": "/visibility", "value": "public"}], 403, "forbidden")
    bad([{"op": "replace", "path": "/min_disk", "value": "big"}], 400, "badRequest")
    bad([{"op": "replace", "path": "/min_ram", "value": -1}], 400, "badRequest")
    bad([{"op": "replace", "path": "/visibility", "value": "everyone"}], 400, "badRequest")
    bad([{"op": "add", "path": "/custom", "value": 5}], 400, "badRequest")
    bad([{"op": "move", "from": "/name", "path": "/x"}], 400, "badRequest")
    bad([{"op": "add", "path": "/a/b", "value": "x"}], 400, "badRequest")
    bad([{"op": "add", "path": "name", "value": "x"}], 400, "badRequest")
    bad([{"op": "add", "path": "/name"}], 400, "badRequest")
    bad({"op": "add", "path": "/name", "value": "x"}, 400, "badRequest")
    bad([{"op": "replace", "path": "/name", "value": "ok"},
         {"op": "replace", "path": "/nope", "value": "x"}], 409, "conflictingRequest")
    fault(client.patch(url, json=[{"op": "replace", "path": "/name", "value": "x"}],
                       headers=demo_headers), 415, "badMediaType")
    fault(client.patch(url, data="[{nope", headers={**demo_headers,
                                                     "Content-Type": PATCH_TYPE}),
          400, "badRequest")
    assert show(client, demo_headers, image["id"]) == image

    upload(client, demo_headers, image["id"], b"data")
    bad([{"op": "replace", "path": "/disk_format", "value": "raw"}], 403, "forbidden")


# -- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    {"disk_format": "exe"},
    {"container_format": "box"},
    {"name": "x" * 256},
    {"min_disk": -1},
    {"min_ram": "1"},
    {"protected": "yes"},
    {"visibility": "galactic"},
    {"tags": ["same", "same"]},
    {"tags": "notalist"},
    {"id": "not-a-uuid"},
    {"custom": 1},
    {"name": "nul\u0000byte"},
    {"custom": "nul\u0000byte"},
    {"os_hidden": True},
    ["a", "list"],
])
def test_bad_create_bodies_are_400(client, demo_headers, body):
    fault(client.post(IMAGES, json=body, headers=demo_headers), 400, "badRequest")


@pytest.mark.parametrize("key", ["status", "size", "checksum", "created_at", "self"])
def test_read_only_attributes_on_create_are_403(client, demo_headers, key):
    fault(client.post(IMAGES, json={key: "x"}, headers=demo_headers), 403, "forbidden")


def test_malformed_requests_never_500(client, demo_headers):
    fault(client.post(IMAGES, data="{nope", content_type="application/json",
                      headers=demo_headers), 400, "badRequest")
    fault(client.post(IMAGES, data="", content_type="application/json",
                      headers=demo_headers), 400, "badRequest")
    for path in ("not-a-uuid", "x" * 300, str(uuid.uuid4())):
        fault(client.get(f"{IMAGES}/{path}", headers=demo_headers), 404, "itemNotFound")
        fault(client.delete(f"{IMAGES}/{path}", headers=demo_headers), 404, "itemNotFound")
    # NUL in a path is refused before routing (middleware.input_limits)
    fault(client.get(f"{IMAGES}/%00", headers=demo_headers), 400, "badRequest")
    fault(client.delete(f"{IMAGES}/%00", headers=demo_headers), 400, "badRequest")
    for query in ("limit=x", "limit=-1", "sort_key=password", "sort_dir=sideways",
                  "marker=nope", f"marker={uuid.uuid4()}", "status=happy",
                  "name=%00", "%00=x", "size_min=big", "protected=maybe",
                  "sort=name:asc&sort_key=name", "created_at=gte:2020-01-01"):
        fault(client.get(f"{IMAGES}?{query}", headers=demo_headers), 400, "badRequest")
    fault(client.get(IMAGES), 401, "unauthorized")


# -- Compute API images proxy ------------------------------------------------------------------

COMPUTE = "/compute/v2.1/images"


def test_compute_proxy_list_detail_show(client, demo_headers):
    data = b"compute proxy image"
    active = create(client, demo_headers, min_disk=2, min_ram=128, architecture="x86_64",
                    auto_disk_config="True")
    upload(client, demo_headers, active["id"], data)
    queued = create(client, demo_headers)

    listed = client.get(COMPUTE, headers=demo_headers)
    assert listed.status_code == 200
    summary = {i["id"]: i for i in listed.json["images"]}
    assert set(summary[active["id"]]) == {"id", "name", "links"}
    assert summary[queued["id"]]["name"] == queued["name"]

    detail = {i["id"]: i for i in client.get(f"{COMPUTE}/detail",
                                             headers=demo_headers).json["images"]}
    shown = client.get(f"{COMPUTE}/{active['id']}", headers=demo_headers).json["image"]
    assert detail[active["id"]] == shown
    assert set(shown) == {"id", "name", "status", "progress", "minDisk", "minRam",
                          "created", "updated", "metadata", "OS-EXT-IMG-SIZE:size",
                          "links", "OS-DCF:diskConfig"}
    assert (shown["status"], shown["progress"]) == ("ACTIVE", 100)
    assert (shown["minDisk"], shown["minRam"]) == (2, 128)
    assert shown["OS-EXT-IMG-SIZE:size"] == len(data)
    assert shown["OS-DCF:diskConfig"] == "AUTO"
    assert shown["metadata"] == {"architecture": "x86_64", "auto_disk_config": "True"}
    assert shown["created"].endswith("Z") and shown["updated"].endswith("Z")
    rels = {link["rel"]: link["href"] for link in shown["links"]}
    assert rels["self"].endswith(f"/compute/v2.1/images/{active['id']}")
    assert rels["bookmark"].endswith(f"/compute/images/{active['id']}")
    assert rels["alternate"].endswith(f"/image/v2/images/{active['id']}")
    assert (detail[queued["id"]]["status"], detail[queued["id"]]["progress"]) == \
        ("SAVING", 25)

    only_active = client.get(f"{COMPUTE}/detail?status=ACTIVE&name={active['name']}",
                             headers=demo_headers).json["images"]
    assert [i["id"] for i in only_active] == [active["id"]]
    saving = client.get(f"{COMPUTE}/detail?status=SAVING&name={active['name']}",
                        headers=demo_headers).json["images"]
    assert saving == []


def test_compute_proxy_paging_visibility_and_delete(client, demo_headers, admin_headers):
    admin_private = create(client, admin_headers, visibility="private")
    fault(client.get(f"{COMPUTE}/{admin_private['id']}", headers=demo_headers),
          404, "itemNotFound")
    fault(client.get(f"{COMPUTE}/not-a-uuid", headers=demo_headers), 404, "itemNotFound")
    assert admin_private["id"] not in {
        i["id"] for i in client.get(COMPUTE, headers=demo_headers).json["images"]}

    create(client, demo_headers)
    create(client, demo_headers)
    first = client.get(f"{COMPUTE}?limit=1", headers=demo_headers).json
    assert len(first["images"]) == 1
    next_href = first["images_links"][0]["href"]
    assert first["images_links"][0]["rel"] == "next"
    assert f"marker={first['images'][0]['id']}" in next_href
    second = client.get(COMPUTE + "?" + next_href.split("?", 1)[1],
                        headers=demo_headers).json
    assert second["images"][0]["id"] != first["images"][0]["id"]

    protected = create(client, demo_headers, protected=True)
    fault(client.delete(f"{COMPUTE}/{protected['id']}", headers=demo_headers),
          403, "forbidden")
    image = create(client, demo_headers)
    upload(client, demo_headers, image["id"], b"bytes")
    assert client.delete(f"{COMPUTE}/{image['id']}", headers=demo_headers).status_code \
        == 204
    assert stored(image["id"]) == []
    fault(client.get(f"{IMAGES}/{image['id']}", headers=demo_headers), 404, "itemNotFound")


# -- the real python-openstackclient ----------------------------------------------------------

def _openstack_executable():
    candidate = os.path.join(os.path.dirname(sys.executable), "openstack")
    return candidate if os.access(candidate, os.X_OK) else shutil.which("openstack")


def test_openstack_cli_image_create_list_show_delete(live_api, tmp_path):
    executable = _openstack_executable()
    if executable is None:
        pytest.skip("python-openstackclient is not installed (no `openstack` "
                    "executable next to the Python interpreter)")
    env = live_api.env("admin")

    def openstack(*args):
        result = subprocess.run([executable, *args], env=env, capture_output=True,
                                stdin=subprocess.DEVNULL, text=True, timeout=120)
        assert result.returncode == 0, f"openstack {' '.join(args)}:\n{result.stderr}"
        return result.stdout

    data = os.urandom(64 * 1024)
    path = tmp_path / "disk.qcow2"
    path.write_bytes(data)
    name = unique("osc")
    created = json.loads(openstack("image", "create", "--file", str(path),
                                   "--disk-format", "qcow2", "--container-format",
                                   "bare", name, "-f", "json"))
    assert created["name"] == name

    listed = json.loads(openstack("image", "list", "-f", "json"))
    assert [i["Status"] for i in listed if i["Name"] == name] == ["active"]

    shown = json.loads(openstack("image", "show", name, "-f", "json"))
    assert shown["id"] == created["id"]
    assert shown["status"] == "active"
    assert shown["size"] == len(data)
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["disk_format"] == "qcow2" and shown["container_format"] == "bare"

    openstack("image", "delete", name)
    listed = json.loads(openstack("image", "list", "-f", "json"))
    assert name not in [i["Name"] for i in listed]
    assert stored(created["id"]) == []
