"""The real ``nova-lite`` executable, run as a subprocess against the API served
over HTTP (``live_api``: real PostgreSQL; its servers stay in BUILD, since no
scheduler or host consumes its vhost and the session's ``cloud`` fixture has a
database and a vhost of its own)."""
import os
import stat

import pytest

from tests.fixtures.cli import NOVA_LITE, as_json, fails, nova_lite, ok, unique

IMAGE_BYTES = os.urandom(3 * 1024 * 1024 + 17)


@pytest.fixture(scope="module")
def admin(live_api):
    assert os.path.exists(NOVA_LITE), f"{NOVA_LITE} is missing: pip install -e ."
    return live_api.env("admin")


@pytest.fixture(scope="module")
def demo(live_api):
    return live_api.env("demo")


@pytest.fixture(scope="module")
def image_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("images") / "disk.qcow2"
    path.write_bytes(IMAGE_BYTES)
    return str(path)


@pytest.fixture(scope="module")
def image(admin, image_file):
    return as_json(admin, "image", "create", unique("cirros"), "--file", image_file,
                   "--public", timeout=120)


# -- flavors, images, key pairs ----------------------------------------------

def test_flavor_list_has_the_default_flavors(admin):
    flavors = as_json(admin, "flavor", "list")
    by_name = {f["Name"]: f for f in flavors}
    assert {"m1.tiny", "m1.small", "m1.medium", "m1.large"} <= set(by_name)
    assert by_name["m1.tiny"]["VCPUs"] >= 1 and by_name["m1.tiny"]["RAM"] > 0
    table = ok(admin, "flavor", "list").stdout
    assert "m1.tiny" in table and "VCPUs" in table


def test_image_create_uploads_the_file(admin, image, image_file):
    assert image["status"] == "active"
    assert image["size"] == len(IMAGE_BYTES)
    assert image["disk_format"] == "qcow2" and image["container_format"] == "bare"
    assert image["visibility"] == "public"
    listed = {i["ID"]: i for i in as_json(admin, "image", "list")}
    assert listed[image["id"]]["Name"] == image["name"]
    assert listed[image["id"]]["Status"] == "active"


def test_image_create_with_properties_and_value_format(admin, image_file):
    name = unique("props")
    proc = ok(admin, "image", "create", name, "--file", image_file, "--disk-format",
              "raw", "--property", "os_distro=cirros", "-f", "value", timeout=120)
    assert name in proc.stdout.splitlines()
    assert "raw" in proc.stdout.splitlines()
    assert "cirros" in proc.stdout


def test_image_create_with_missing_file(admin, tmp_path):
    error = fails(admin, "image", "create", unique("nofile"), "--file",
                  str(tmp_path / "absent.img"))
    assert "absent.img" in error


def test_keypair_generated_private_key_saved_0600(admin, tmp_path):
    name = unique("key")
    key_file = tmp_path / "id_test"
    created = as_json(admin, "keypair", "create", name, "--private-key", str(key_file))
    assert created["name"] == name and created["fingerprint"]
    assert "private_key" not in created
    assert key_file.read_text().startswith("-----BEGIN")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    listed = {k["Name"]: k for k in as_json(admin, "keypair", "list")}
    assert listed[name]["Fingerprint"] == created["fingerprint"]


def test_keypair_generated_private_key_printed(admin):
    proc = ok(admin, "keypair", "create", unique("key"))
    assert proc.stdout.startswith("-----BEGIN")
    assert "PRIVATE KEY-----" in proc.stdout


def test_keypair_import_public_key(admin, tmp_path):
    generated = as_json(admin, "keypair", "create", unique("key"))
    public = tmp_path / "id.pub"
    public.write_text(generated["public_key"])
    name = unique("imported")
    imported = as_json(admin, "keypair", "create", name, "--public-key", str(public))
    assert imported["fingerprint"] == generated["fingerprint"]
    assert "private_key" not in imported
    assert name in {k["Name"] for k in as_json(admin, "keypair", "list")}


def test_keypair_duplicate_is_an_api_error_with_request_id(admin):
    name = unique("dup")
    ok(admin, "keypair", "create", name)
    error = fails(admin, "keypair", "create", name)
    assert name in error
    assert "(HTTP 409, request id req-" in error


# -- servers -------------------------------------------------------------------

def test_server_create_list_show_delete(admin, image):
    name = unique("web")
    server = as_json(admin, "server", "create", name, "--flavor", "m1.tiny",
                     "--image", image["name"], "--property", "role=web")
    assert server["name"] == name and server["status"] == "BUILD"     # as created
    assert server["flavor"]["id"] and server["image"]["id"] == image["id"]
    assert server["metadata"] == {"role": "web"}
    assert server["adminPass"]

    listed = {s["ID"]: s for s in as_json(admin, "server", "list")}
    assert listed[server["id"]]["Name"] == name
    assert listed[server["id"]]["Status"] == "BUILD"                # see the docstring
    only = as_json(admin, "server", "list", "--name", f"^{name}$", "--long")
    assert [s["ID"] for s in only] == [server["id"]]
    assert only[0]["Flavor Name"] == "m1.tiny" and only[0]["Image ID"] == image["id"]
    assert only[0]["Image Name"] == image["name"]
    assert only[0]["Properties"] == {"role": "web"}
    assert as_json(admin, "server", "list", "--status", "ERROR", "--name", name) == []

    assert as_json(admin, "server", "show", name)["id"] == server["id"]
    table = ok(admin, "server", "show", server["id"]).stdout
    assert name in table and "m1.tiny" in table and image["name"] in table

    ok(admin, "server", "delete", name, "--wait", "--timeout", "30")
    error = fails(admin, "server", "show", server["id"])
    assert f"No server with a name or ID of '{server['id']}' exists." in error
    assert server["id"] not in {s["ID"] for s in as_json(admin, "server", "list")}


def test_server_create_wait_times_out_in_build(admin, image):
    # Nothing builds this API's servers (see the docstring): BUILD for good.
    name = unique("slow")
    proc = nova_lite(admin, "server", "create", name, "--flavor", "m1.tiny",
                     "--image", image["id"], "--wait", "--timeout", "3")
    assert proc.returncode == 1, proc.stderr
    assert "Timed out after 3 s waiting for server " + name in proc.stderr
    assert "still BUILD" in proc.stderr
    assert "BUILD" in proc.stderr.splitlines()[0]       # the progress line
    ok(admin, "server", "delete", name, "--wait", "--timeout", "60")


def test_server_list_limit_returns_one_page(admin, image):
    names = [unique("many") for _ in range(3)]
    for name in names:
        ok(admin, "server", "create", name, "--flavor", "m1.tiny", "--image", image["id"])
    assert len(as_json(admin, "server", "list", "--limit", "2")) == 2
    assert len(as_json(admin, "server", "list", "--name", "^many-")) >= 3
    proc = nova_lite(admin, "server", "delete", *names, "--wait")
    assert proc.returncode == 0, proc.stderr


def test_projects_do_not_see_each_others_servers(admin, demo, image):
    name = unique("private")
    server = as_json(admin, "server", "create", name, "--flavor", "m1.tiny",
                     "--image", image["id"])
    assert "No server with a name or ID" in fails(demo, "server", "show", server["id"])
    ids = {s["ID"] for s in as_json(admin, "server", "list", "--all-projects")}
    assert server["id"] in ids
    ok(admin, "server", "delete", server["id"])


def test_delete_several_reports_the_missing_one(admin, image):
    name = unique("keep")
    ok(admin, "server", "create", name, "--flavor", "m1.tiny", "--image", image["id"])
    # --wait: a placed server is gone only once its host has destroyed it (a
    # DELETE answers at once, as in Nova; the server lists as deleting meanwhile).
    proc = nova_lite(admin, "server", "delete", name, "no-such-server", "--wait",
                     "--timeout", "30")
    assert proc.returncode == 1
    assert "Failed to delete server with name or ID 'no-such-server'" in proc.stderr
    assert "Error: 1 of 2 servers failed to delete." in proc.stderr
    assert name not in {s["Name"] for s in as_json(admin, "server", "list")}


# -- errors --------------------------------------------------------------------

def test_unknown_flavor(admin, image):
    error = fails(admin, "server", "create", unique("x"), "--flavor", "m1.nope",
                  "--image", image["id"])
    assert error == "Error: No flavor with a name or ID of 'm1.nope' exists."


def test_ambiguous_image_name_lists_the_candidates(admin, image_file):
    name = unique("twin")
    ids = [as_json(admin, "image", "create", name, "--file", image_file,
                   timeout=120)["id"] for _ in range(2)]
    error = fails(admin, "server", "create", unique("x"), "--flavor", "m1.tiny",
                  "--image", name)
    assert f"More than one image exists with the name '{name}'" in error
    assert all(i in error for i in ids)


def test_wrong_password(admin):
    env = {**admin, "OS_PASSWORD": "not-the-password"}
    error = fails(env, "server", "list")
    assert "(HTTP 401, request id req-" in error


def test_missing_auth_url(admin):
    env = {k: v for k, v in admin.items() if k != "OS_AUTH_URL"}
    error = fails(env, "flavor", "list")
    assert "OS_AUTH_URL" in error


def test_missing_password(admin):
    env = {k: v for k, v in admin.items() if k != "OS_PASSWORD"}
    assert "OS_PASSWORD" in fails(env, "flavor", "list")


def test_connection_refused_names_the_url(admin):
    from tests.fixtures.ports import free_port
    url = f"http://127.0.0.1:{free_port()}/identity/v3"
    error = fails({**admin, "OS_AUTH_URL": url}, "flavor", "list")
    assert url in error and "connection refused" in error


def test_region_without_endpoints(admin):
    error = fails({**admin, "OS_REGION_NAME": "Mars"}, "flavor", "list")
    assert error == ("Error: The service catalog has no public endpoint for service "
                     "type 'compute' in region Mars")


def test_options_override_the_environment(admin, live_api):
    env = {k: v for k, v in admin.items() if not k.startswith("OS_")}
    proc = ok(env, "--os-auth-url", live_api.url + "/identity/v3", "--os-username",
              "demo", "--os-password", "demo-secret", "--os-project-name", "demo",
              "flavor", "list", "-f", "value")
    assert "m1.tiny" in proc.stdout
