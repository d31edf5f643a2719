"""Compute microversions 2.1 to 2.100: every endpoint's answer at the versions
where its body changes validates against Tempest's own response schema for
that version (tests/fixtures/tempest_schemas.py), and the fields each version
adds or removes are there or not (in-process API, real PostgreSQL; one
project and two servers for the whole module, placed on a host by SQL as the
conductor would: no worker runs here)."""
import uuid

import pytest
from sqlalchemy import text

from tests.fixtures import tempest_schemas as ts
from tests.fixtures.credentials import DEMO_PASSWORD, login

PROJECT = "microversions"
COMPUTE = "/compute/v2.1"
HOST = "mv-host"
SERVER_VERSIONS = [None, "2.1", "2.3", "2.9", "2.16", "2.19", "2.26", "2.47", "2.63",
                   "2.71", "2.73", "2.75", "2.90", "2.96", "2.98", "2.100"]


def execute(sql, **params):
    from nova_lite.db.session import transaction
    with transaction() as session:
        session.execute(text(sql), params)


def at(v):
    """'2.N' -> (2, N) (None: 2.1, the default)."""
    return (2, 1) if v is None else tuple(int(p) for p in v.split("."))


def call(client, headers, method, path, version, endpoint, body=None):
    response = client.open(COMPUTE + path, method=method, json=body,
                           headers=ts.headers(headers, version))
    return ts.validate(response, version, endpoint)


@pytest.fixture(scope="module")
def user(app):
    """A member of a project of its own (no network: servers get no NIC)."""
    from nova_lite.db import bootstrap
    bootstrap.ensure_user("mv-user", DEMO_PASSWORD, PROJECT, "member")
    return login(app.test_client(), "mv-user", DEMO_PASSWORD, PROJECT)


@pytest.fixture(scope="module")
def project_id(user):
    from nova_lite.db import bootstrap
    return bootstrap.ensure_project(PROJECT)[0]


@pytest.fixture(scope="module")
def image_id(app, admin_headers):
    """A public active image with properties of its own (2.98 shows them)."""
    client = app.test_client()
    made = client.post("/image/v2/images", headers=admin_headers, json={
        "name": "mv-" + uuid.uuid4().hex[:6], "disk_format": "qcow2",
        "container_format": "bare", "visibility": "public",
        "architecture": "x86_64", "hw_disk_bus": "virtio"})
    assert made.status_code == 201, made.get_data(as_text=True)
    image = made.json["id"]
    put = client.put(f"/image/v2/images/{image}/file", data=b"\0" * 1024,
                     headers={**admin_headers, "Content-Type": "application/octet-stream"})
    assert put.status_code == 204
    return image


@pytest.fixture(scope="module")
def servers(app, user, image_id):
    """(old, new): one made at 2.1, one at 2.100 with everything 2.100 takes;
    both ACTIVE on HOST, whose compute service is up."""
    from nova_lite.db import services
    client = app.test_client()
    old = call(client, user, "POST", "/servers", "2.1", "create_server_with_admin_pass",
               {"server": {"name": "mv old", "imageRef": image_id, "flavorRef": "1"}})
    new = call(client, user, "POST", "/servers", "2.100", "create_server_with_admin_pass",
               {"server": {"name": "mv-new", "imageRef": image_id, "flavorRef": "1",
                           "networks": "none", "description": "the new one",
                           "tags": ["blue", "green"], "hostname": "mv-host-name"},
                "os:scheduler_hints": {"different_host": [old["server"]["id"]]}})
    services.record_heartbeat(HOST, "nova-lite-compute", "compute." + HOST)
    ids = old["server"]["id"], new["server"]["id"]
    for server_id in ids:
        execute("UPDATE instances SET host = :host, node = :host, vm_state = 'active', "
                "task_state = NULL, power_state = 1 WHERE uuid = :uuid",
                host=HOST, uuid=server_id)
    return ids


# -- servers ---------------------------------------------------------------------


@pytest.mark.parametrize("version", SERVER_VERSIONS)
@pytest.mark.parametrize("who", ["member", "admin"])
def test_server_bodies_validate_against_tempest(client, user, admin_headers, servers,
                                                project_id, version, who):
    headers = user if who == "member" else admin_headers
    old, new = servers
    query = "" if who == "member" else f"?all_tenants=1&project_id={project_id}"
    shown = call(client, headers, "GET", f"/servers/{new}", version, "get_server")
    listed = call(client, headers, "GET", "/servers/detail" + query, version,
                  "list_servers_detail")
    call(client, headers, "GET", "/servers" + query, version, "list_servers")
    updated = call(client, headers, "PUT", f"/servers/{old}", version, "update_server",
                   {"server": {"name": "mv old"}})
    by_id = {s["id"]: s for s in listed["servers"]}
    assert {old, new} <= set(by_id)
    server, v = shown["server"], at(version)
    admin = who == "admin"
    # What each version adds, for whom.
    expected = {
        "OS-EXT-SRV-ATTR:host": admin,
        "OS-EXT-SRV-ATTR:reservation_id": admin and v >= (2, 3),
        "OS-EXT-SRV-ATTR:hostname": (admin and v >= (2, 3)) or v >= (2, 90),
        "locked": v >= (2, 9), "host_status": admin and v >= (2, 16),
        "description": v >= (2, 19), "tags": v >= (2, 26),
        "trusted_image_certificates": v >= (2, 63), "server_groups": v >= (2, 71),
        "locked_reason": v >= (2, 73), "pinned_availability_zone": v >= (2, 96),
        "scheduler_hints": v >= (2, 100),
    }
    assert {k: k in server for k in expected} == expected
    assert ("properties" in server["image"]) == (v >= (2, 98))
    assert ("original_name" in server["flavor"]) == (v >= (2, 47))
    assert ("id" in server["flavor"]) == (v < (2, 47))
    # The PUT answer is the short one below 2.75, the whole server after.
    assert ("OS-EXT-STS:vm_state" in updated["server"]) == (v >= (2, 75))
    assert "server_groups" not in by_id[new]          # show and update only


def test_the_fields_of_later_versions_hold_what_was_asked(client, user, admin_headers,
                                                          servers):
    old, new = servers
    server = call(client, admin_headers, "GET", f"/servers/{new}", "2.100",
                  "get_server")["server"]
    assert (server["description"], server["tags"], server["locked"],
            server["locked_reason"], server["pinned_availability_zone"],
            server["host_status"], server["OS-EXT-SRV-ATTR:hostname"],
            server["scheduler_hints"]) == \
        ("the new one", ["blue", "green"], False, None, None, "UP", "mv-host-name",
         {"different_host": [old]})
    assert server["flavor"] == {"original_name": "m1.tiny", "vcpus": 1, "ram": 512,
                                "disk": 1, "ephemeral": 0, "swap": 0, "extra_specs": {}}
    props = server["image"]["properties"]
    assert (props["architecture"], props["hw_disk_bus"]) == ("x86_64", "virtio")
    first = call(client, user, "GET", f"/servers/{old}", "2.90", "get_server")["server"]
    assert (first["description"], first["tags"],
            first["OS-EXT-SRV-ATTR:hostname"]) == (None, [], "mv-old")


def test_update_takes_description_from_2_19_and_hostname_from_2_90(client, user, servers):
    old, _ = servers
    path = f"{COMPUTE}/servers/{old}"
    refused = client.put(path, json={"server": {"description": "x"}},
                         headers=ts.headers(user, "2.18"))
    assert refused.status_code == 400, refused.get_data(as_text=True)
    body = call(client, user, "PUT", f"/servers/{old}", "2.19", "update_server",
                {"server": {"description": "described"}})
    assert body["server"]["description"] == "described"
    refused = client.put(path, json={"server": {"hostname": "h1"}},
                         headers=ts.headers(user, "2.89"))
    assert refused.status_code == 400
    body = call(client, user, "PUT", f"/servers/{old}", "2.90", "update_server",
                {"server": {"hostname": "renamed-host", "description": None}})
    assert (body["server"]["OS-EXT-SRV-ATTR:hostname"], body["server"]["description"]) \
        == ("renamed-host", None)


def test_auto_at_2_37_boots_without_a_nic_in_a_project_without_networks(client, user,
                                                                        image_id):
    body = {"server": {"name": "mv-auto", "imageRef": image_id, "flavorRef": "1",
                       "networks": "auto"}}
    strict = client.post(COMPUTE + "/servers", json=body, headers=ts.headers(user, "2.36"))
    assert strict.status_code == 400
    assert "Unable to automatically allocate" in strict.json["badRequest"]["message"]
    made = call(client, user, "POST", "/servers", "2.37", "create_server_with_admin_pass",
                body)["server"]["id"]
    shown = call(client, user, "GET", f"/servers/{made}", "2.37", "get_server")
    assert shown["server"]["addresses"] == {}
    client.delete(f"{COMPUTE}/servers/{made}", headers=user)


@pytest.mark.parametrize("version, server, message", [
    ("2.37", {}, "'networks' is a required property"),
    ("2.31", {"networks": [{"uuid": str(uuid.uuid4()), "tag": "t"}]},
     "'tag' was unexpected"),
    ("2.18", {"networks": [], "description": "d"}, "'description' was unexpected"),
    ("2.51", {"networks": "none", "tags": ["a"]}, "'tags' was unexpected"),
    ("2.89", {"networks": "none", "hostname": "h1"}, "'hostname' was unexpected"),
    ("2.90", {"networks": "none", "hostname": "a.b"}, "does not match"),
])
def test_create_requests_change_with_the_version(client, user, image_id, version, server,
                                                 message):
    body = {"server": {"name": "mv-bad", "imageRef": image_id, "flavorRef": "1", **server}}
    response = client.post(COMPUTE + "/servers", json=body,
                           headers=ts.headers(user, version))
    assert response.status_code == 400, response.get_data(as_text=True)
    assert message in response.json["badRequest"]["message"]


@pytest.mark.parametrize("version", ["2.1", "2.100"])
def test_an_action_and_a_delete_validate(client, user, image_id, version):
    made = call(client, user, "POST", "/servers", version, "create_server_with_admin_pass",
                {"server": {"name": "mv-gone", "imageRef": image_id, "flavorRef": "1",
                            "networks": "none"}})["server"]["id"]
    execute("UPDATE instances SET host = :host, node = :host, vm_state = 'active', "
            "task_state = NULL, power_state = 1 WHERE uuid = :uuid", host=HOST, uuid=made)
    call(client, user, "POST", f"/servers/{made}/action", version,
         "server_actions_common_schema", {"os-stop": None})
    call(client, user, "DELETE", f"/servers/{made}", version, "delete_server")


@pytest.mark.parametrize("version", ["2.1", "2.51", "2.58", "2.62", "2.84", "2.100"])
def test_instance_actions_validate(client, admin_headers, servers, version):
    old, _ = servers
    listed = call(client, admin_headers, "GET", f"/servers/{old}/os-instance-actions",
                  version, "list_instance_actions")
    (action,) = listed["instanceActions"]
    assert ("updated_at" in action) == (at(version) >= (2, 58))
    call(client, admin_headers, "GET",
         f"/servers/{old}/os-instance-actions/{action['request_id']}", version,
         "show_instance_action")


@pytest.mark.parametrize("version", ["2.1", "2.36", "2.70", "2.100"])
def test_server_sub_resources_validate(client, user, servers, version):
    old, _ = servers
    call(client, user, "GET", f"/servers/{old}/os-interface", version, "list_interfaces")
    call(client, user, "GET", f"/servers/{old}/os-security-groups", version,
         "list_server_security_groups")


# -- flavors ---------------------------------------------------------------------


@pytest.mark.parametrize("version", [None, "2.1", "2.55", "2.61", "2.75", "2.100"])
def test_flavor_bodies_validate(client, user, version):
    listed = call(client, user, "GET", "/flavors", version, "list_flavors")
    detail = call(client, user, "GET", "/flavors/detail", version, "list_flavors_details")
    shown = call(client, user, "GET", "/flavors/1", version, "show_flavor")["flavor"]
    v = at(version)
    assert ("description" in listed["flavors"][0]) == (v >= (2, 55))
    assert ("extra_specs" in shown) == (v >= (2, 61))
    assert shown["swap"] == (0 if v >= (2, 75) else "")
    assert detail["flavors"]


@pytest.mark.parametrize("version", ["2.1", "2.100"])
def test_flavor_extra_specs_and_access_validate(client, admin_headers, version):
    call(client, admin_headers, "GET", "/flavors/1/os-extra_specs", version,
         "list_flavor_extra_specs")
    name = "mv-" + uuid.uuid4().hex[:6]
    made = call(client, admin_headers, "POST", "/flavors", version, "create_flavor",
                {"flavor": {"name": name, "ram": 64, "vcpus": 1, "disk": 0,
                            "os-flavor-access:is_public": False}})["flavor"]
    try:
        call(client, admin_headers, "GET", f"/flavors/{made['id']}/os-flavor-access",
             version, "list_flavor_access")
    finally:
        client.delete(f"{COMPUTE}/flavors/{made['id']}", headers=admin_headers)


def test_flavor_description_from_2_55(client, admin_headers, user):
    name = "mv-" + uuid.uuid4().hex[:6]
    spec = {"name": name, "ram": 64, "vcpus": 1, "disk": 0, "description": "small"}
    refused = client.post(COMPUTE + "/flavors", json={"flavor": spec},
                          headers=ts.headers(admin_headers, "2.54"))
    assert refused.status_code == 400
    made = call(client, admin_headers, "POST", "/flavors", "2.55", "create_flavor",
                {"flavor": spec})["flavor"]
    try:
        assert made["description"] == "small"
        shown = call(client, admin_headers, "GET", f"/flavors/{made['id']}", "2.61",
                      "show_flavor")["flavor"]
        assert (shown["description"], shown["extra_specs"]) == ("small", {})
        path = f"{COMPUTE}/flavors/{made['id']}"
        too_old = client.put(path, json={"flavor": {"description": "x"}},
                             headers=ts.headers(admin_headers, "2.54"))
        assert too_old.status_code == 404
        member = client.put(path, json={"flavor": {"description": "x"}},
                            headers=ts.headers(user, "2.55"))
        assert member.status_code == 403
        updated = call(client, admin_headers, "PUT", f"/flavors/{made['id']}", "2.75",
                       "update_flavor", {"flavor": {"description": "tiny"}})["flavor"]
        assert (updated["description"], updated["swap"]) == ("tiny", 0)
    finally:
        client.delete(f"{COMPUTE}/flavors/{made['id']}", headers=admin_headers)


# -- keypairs --------------------------------------------------------------------


@pytest.mark.parametrize("version", [None, "2.1", "2.2", "2.10", "2.35", "2.92"])
def test_keypair_bodies_validate(client, user, version):
    from nova_lite.api.compute import keypairs
    name = "mv-" + uuid.uuid4().hex[:6]
    public, _ = keypairs.generate()
    made = call(client, user, "POST", "/os-keypairs", version, "create_keypair",
                {"keypair": {"name": name, "public_key": public}})["keypair"]
    assert ("type" in made) == (at(version) >= (2, 2))
    listed = call(client, user, "GET", "/os-keypairs", version, "list_keypairs")
    assert name in {k["keypair"]["name"] for k in listed["keypairs"]}
    shown = call(client, user, "GET", f"/os-keypairs/{name}", version,
                 "get_keypair")["keypair"]
    assert ("type" in shown) == (at(version) >= (2, 2))
    call(client, user, "DELETE", f"/os-keypairs/{name}", version, "delete_keypair")


def test_keypairs_page_from_2_35_and_need_a_public_key_from_2_92(client, user):
    made = []
    for _ in range(3):
        name = "mvp-" + uuid.uuid4().hex[:6]
        call(client, user, "POST", "/os-keypairs", "2.2", "create_keypair",
             {"keypair": {"name": name, "type": "ssh"}})
        made.append(name)
    try:
        # Tempest's keypairs schema (v2_2, for every later version) has no
        # keypairs_links: Nova's 2.35 full page has them, so only the rest of
        # that body is checked against it.
        response = client.get(COMPUTE + "/os-keypairs?limit=2",
                              headers=ts.headers(user, "2.35"))
        assert response.status_code == 200
        page = response.json
        ts.validate_body({"keypairs": page["keypairs"]}, "2.35", "list_keypairs")
        names = [k["keypair"]["name"] for k in page["keypairs"]]
        assert len(names) == 2 and page["keypairs_links"][0]["rel"] == "next"
        rest = call(client, user, "GET", f"/os-keypairs?limit=2&marker={names[-1]}",
                    "2.35", "list_keypairs")
        assert names[-1] not in [k["keypair"]["name"] for k in rest["keypairs"]]
        whole = call(client, user, "GET", "/os-keypairs?limit=2", "2.34", "list_keypairs")
        assert len(whole["keypairs"]) >= 3 and "keypairs_links" not in whole
        refused = client.post(COMPUTE + "/os-keypairs",
                              json={"keypair": {"name": "mv-nokey"}},
                              headers=ts.headers(user, "2.92"))
        assert refused.status_code == 400
        assert "'public_key' is a required property" in refused.json["badRequest"]["message"]
    finally:
        for name in made:
            client.delete(f"{COMPUTE}/os-keypairs/{name}", headers=user)


# -- limits, quotas, proxies, versions ---------------------------------------------


@pytest.mark.parametrize("version", ["2.1", "2.36", "2.39", "2.57", "2.100"])
def test_limits_and_quota_sets_validate(client, user, admin_headers, project_id, version):
    limits = call(client, user, "GET", "/limits", version, "get_limit")
    absolute = limits["limits"]["absolute"]
    v = at(version)
    assert ("maxSecurityGroups" in absolute) == (v < (2, 36))
    assert ("maxImageMeta" in absolute) == (v < (2, 39))
    assert ("maxPersonality" in absolute) == (v < (2, 57))
    quota = call(client, admin_headers, "GET", f"/os-quota-sets/{project_id}", version,
                 "get_quota_set")["quota_set"]
    assert ("floating_ips" in quota) == (v < (2, 36))
    assert ("injected_files" in quota) == (v < (2, 57))
    call(client, admin_headers, "GET", f"/os-quota-sets/{project_id}/detail", version,
         "get_quota_set_details")


@pytest.mark.parametrize("version", ["2.1", "2.50", "2.57", "2.100"])
def test_quota_class_sets_validate(client, admin_headers, version):
    shown = call(client, admin_headers, "GET", "/os-quota-class-sets/default", version,
                 "get_quota_class_set")["quota_class_set"]
    v = at(version)
    assert ("server_groups" in shown, "floating_ips" in shown, "injected_files" in shown) \
        == (v >= (2, 50), v < (2, 50), v < (2, 57))


def test_quota_set_update_refuses_what_the_version_removed(client, admin_headers):
    response = client.put(f"{COMPUTE}/os-quota-sets/{PROJECT}",
                          json={"quota_set": {"floating_ips": 5}},
                          headers=ts.headers(admin_headers, "2.36"))
    assert response.status_code == 400, response.get_data(as_text=True)


def test_proxy_apis_serve_until_2_35_and_are_gone_from_2_36(client, user, image_id):
    call(client, user, "GET", "/images", "2.35", "list_images")
    call(client, user, "GET", "/images/detail", "2.1", "list_images_details")
    call(client, user, "GET", f"/images/{image_id}", "2.35", "get_image")
    call(client, user, "GET", "/os-security-groups", "2.35", "list_security_groups")
    call(client, user, "GET", "/os-floating-ips", "2.35", "list_floating_ips")
    for path in ("/images", f"/images/{image_id}", "/os-networks", "/os-floating-ips",
                 "/os-floating-ip-pools", "/os-security-groups"):
        response = client.get(COMPUTE + path, headers=ts.headers(user, "2.36"))
        assert response.status_code == 404, path
        assert response.json["itemNotFound"]["code"] == 404


def test_version_discovery_says_2_100(client):
    listed = ts.validate(client.get("/compute/"), None, "list_versions")
    shown = ts.validate(client.get("/compute/v2.1"), None, "get_one_version")
    assert [v["version"] for v in listed["versions"]] == ["2.100"]
    assert (shown["version"]["version"], shown["version"]["min_version"]) == \
        ("2.100", "2.1")


def test_microversion_headers_latest_and_too_high(client, user):
    latest = client.get(COMPUTE + "/flavors", headers=ts.headers(user, "latest"))
    assert latest.status_code == 200
    assert latest.headers["OpenStack-API-Version"] == "compute 2.100"
    assert latest.headers["X-OpenStack-Nova-API-Version"] == "2.100"
    assert {"OpenStack-API-Version", "X-OpenStack-Nova-API-Version"} <= \
        {v.strip() for v in latest.headers["Vary"].split(",")}
    only_new = client.get(COMPUTE + "/flavors",
                          headers=dict(user, **{"OpenStack-API-Version": "compute 2.42"}))
    assert only_new.headers["OpenStack-API-Version"] == "compute 2.42"
    too_high = client.get(COMPUTE + "/flavors", headers=ts.headers(user, "2.101"))
    assert too_high.status_code == 406
    assert too_high.json["notAcceptable"]["message"] == (
        "Version 2.101 is not supported by the API. Minimum is 2.1 and maximum is 2.100.")
