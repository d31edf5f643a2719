"""Private flavors and os-flavor-access (in-process API, real PostgreSQL; the
last test through the real ``openstack`` client over HTTP): a project that
was not granted a private flavor can neither see nor boot it, and gets the
very answer a flavorid nobody made gets."""
import uuid

import pytest

from tests.fixtures.credentials import ADMIN_PASSWORD, DEMO_PASSWORD, login
from tests.fixtures.images import upload_image
from tests.fixtures.osc import Osc

COMPUTE = "/compute/v2.1"
GRANTED, OTHER = "flavacc-granted", "flavacc-other"


@pytest.fixture(scope="module")
def projects(app):
    """Two projects of their own (no networks): {name: (project_id, headers)}."""
    from nova_lite.db import bootstrap
    out = {}
    for name in (GRANTED, OTHER):
        project_id, _ = bootstrap.ensure_project(name)
        bootstrap.ensure_user(f"{name}-user", DEMO_PASSWORD, name, "member")
        out[name] = (project_id, login(app.test_client(), f"{name}-user",
                                        DEMO_PASSWORD, name))
    return out


@pytest.fixture(scope="module")
def image_id(app, admin_headers):
    return upload_image(app.test_client(), admin_headers, "flavacc")


def make_flavor(client, admin_headers, public=False):
    flavorid = f"fa-{uuid.uuid4().hex[:8]}"
    response = client.post(f"{COMPUTE}/flavors", headers=admin_headers, json={"flavor": {
        "name": flavorid, "id": flavorid, "ram": 64, "vcpus": 1, "disk": 1,
        "os-flavor-access:is_public": public}})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["flavor"]["os-flavor-access:is_public"] is public
    return flavorid


def action(client, headers, flavorid, name, tenant, expect):
    response = client.post(f"{COMPUTE}/flavors/{flavorid}/action", headers=headers,
                           json={name: {"tenant": tenant}})
    assert response.status_code == expect, response.get_data(as_text=True)
    return response.json


def boot(client, headers, image_id, flavorid, expect):
    response = client.post(f"{COMPUTE}/servers", headers=headers, json={"server": {
        "name": f"fa-{uuid.uuid4().hex[:6]}", "imageRef": image_id, "flavorRef": flavorid,
        "networks": "none"}})
    assert response.status_code == expect, response.get_data(as_text=True)
    return response.json


def listed(client, headers, query=""):
    response = client.get(f"{COMPUTE}/flavors/detail{query}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return {f["id"] for f in response.json["flavors"]}


def test_a_private_flavor_is_seen_and_booted_only_by_the_projects_granted_it(
        client, admin_headers, projects, image_id):
    flavorid = make_flavor(client, admin_headers)
    granted_id, granted = projects[GRANTED]
    _, other = projects[OTHER]
    body = action(client, admin_headers, flavorid, "addTenantAccess", granted_id, 200)
    assert body == {"flavor_access": [{"flavor_id": flavorid, "tenant_id": granted_id}]}

    shown = client.get(f"{COMPUTE}/flavors/{flavorid}", headers=granted)
    assert shown.status_code == 200 and shown.json["flavor"]["id"] == flavorid
    assert flavorid in listed(client, granted)
    assert flavorid in listed(client, granted, "?is_public=false")   # ignored for members
    boot(client, granted, image_id, flavorid, 202)

    # Another project: exactly what a flavorid nobody made gets.
    missing = f"fa-missing-{uuid.uuid4().hex[:6]}"
    for path in ("", "/os-extra_specs"):
        hidden = client.get(f"{COMPUTE}/flavors/{flavorid}{path}", headers=other)
        absent = client.get(f"{COMPUTE}/flavors/{missing}{path}", headers=other)
        assert hidden.status_code == absent.status_code == 404
        assert hidden.json == {"itemNotFound": {
            "code": 404, "message": f"Flavor {flavorid} could not be found."}}
        assert absent.json["itemNotFound"]["message"] == f"Flavor {missing} could not be found."
    assert flavorid not in listed(client, other)
    assert flavorid not in listed(client, other, "?is_public=none")
    refused = boot(client, other, image_id, flavorid, 400)
    assert refused == {"badRequest": {"code": 400,
                                      "message": f"Flavor {flavorid} could not be found."}}
    assert boot(client, other, image_id, missing, 400)["badRequest"]["message"] == \
        f"Flavor {missing} could not be found."
    for marker in (flavorid, missing):
        paged = client.get(f"{COMPUTE}/flavors?marker={marker}", headers=other)
        assert paged.status_code == 400
        assert paged.json["badRequest"]["message"] == f"marker [{marker}] not found"

    # Taking the grant back counts at once, even for a flavor cached for create.
    action(client, admin_headers, flavorid, "removeTenantAccess", granted_id, 200)
    assert client.get(f"{COMPUTE}/flavors/{flavorid}", headers=granted).status_code == 404
    boot(client, granted, image_id, flavorid, 400)


def test_admins_list_private_flavors_only_when_asked(client, admin_headers):
    private = make_flavor(client, admin_headers)
    public = make_flavor(client, admin_headers, public=True)
    default = listed(client, admin_headers)
    assert public in default and private not in default
    assert {public, private} <= listed(client, admin_headers, "?is_public=none")
    only_private = listed(client, admin_headers, "?is_public=false")
    assert private in only_private and public not in only_private
    assert client.get(f"{COMPUTE}/flavors/{private}", headers=admin_headers).status_code == 200


def test_flavor_access_answers_as_nova_does(client, admin_headers, demo_headers, projects):
    private = make_flavor(client, admin_headers)
    public = make_flavor(client, admin_headers, public=True)
    project_id, _ = projects[GRANTED]
    access = client.get(f"{COMPUTE}/flavors/{private}/os-flavor-access", headers=admin_headers)
    assert access.status_code == 200 and access.json == {"flavor_access": []}
    action(client, admin_headers, private, "addTenantAccess", project_id, 200)
    again = action(client, admin_headers, private, "addTenantAccess", project_id, 409)
    assert "already exists" in again["conflictingRequest"]["message"]
    to_public = action(client, admin_headers, public, "addTenantAccess", project_id, 409)
    assert to_public["conflictingRequest"]["message"] == "Can not add access to a public flavor."
    unknown = action(client, admin_headers, private, "addTenantAccess", "no-such-project", 400)
    assert unknown["badRequest"]["message"] == "Project ID no-such-project is not a valid project."
    action(client, admin_headers, private, "removeTenantAccess", project_id, 200)
    action(client, admin_headers, private, "removeTenantAccess", project_id, 404)
    public_list = client.get(f"{COMPUTE}/flavors/{public}/os-flavor-access",
                             headers=admin_headers)
    assert public_list.status_code == 404
    assert action(client, admin_headers, "no-such-flavor", "addTenantAccess", project_id,
                  404)["itemNotFound"]["message"] == "Flavor no-such-flavor could not be found."
    # Members: 403 (the admin role), whatever the flavor.
    assert client.get(f"{COMPUTE}/flavors/{private}/os-flavor-access",
                      headers=demo_headers).status_code == 403
    action(client, demo_headers, private, "addTenantAccess", project_id, 403)
    bad = client.post(f"{COMPUTE}/flavors/{private}/action", headers=admin_headers,
                      json={"addTenantAccess": {}})
    assert bad.status_code == 400


def test_private_flavors_through_the_openstack_client(live_api):
    """``flavor create --private``, ``flavor set --project``, ``flavor show`` as
    the demo user, with the real client (three commands as admin, two as demo)."""
    admin = Osc(live_api.url + "/identity/v3", "admin", ADMIN_PASSWORD, "admin")
    demo = Osc(live_api.url + "/identity/v3", "demo", DEMO_PASSWORD, "demo")
    name = f"fa-osc-{uuid.uuid4().hex[:6]}"
    created = admin("flavor", "create", "--private", "--ram", "64", "--vcpus", "1",
                    "--disk", "1", name, "-f", "json")
    assert created["os-flavor-access:is_public"] is False
    hidden = demo("flavor", "show", created["id"], expect_ok=False)
    assert hidden.returncode != 0 and "No Flavor found" in hidden.stderr
    admin("flavor", "set", "--project", "demo", created["id"])
    shown = demo("flavor", "show", created["id"], "-f", "json")
    assert shown["name"] == name and shown["os-flavor-access:is_public"] is False


def test_booting_a_public_flavor_costs_no_access_query_and_a_private_one_one(
        client, admin_headers, projects, image_id):
    """The flood's path (a public flavor, cached) makes no statement on
    flavor_projects; a member's boot of a granted private flavor makes one."""
    from sqlalchemy import event

    from nova_lite.db.session import get_engine
    private = make_flavor(client, admin_headers)
    granted_id, granted = projects[GRANTED]
    action(client, admin_headers, private, "addTenantAccess", granted_id, 200)
    seen = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    def statements(flavorid):
        boot(client, granted, image_id, flavorid, 202)         # cached from here on
        seen.clear()
        event.listen(get_engine(), "before_cursor_execute", record)
        try:
            boot(client, granted, image_id, flavorid, 202)
        finally:
            event.remove(get_engine(), "before_cursor_execute", record)
        return list(seen)

    public, private_path = statements("1"), statements(private)
    assert not [s for s in public if "flavor_projects" in s]
    assert len([s for s in private_path if "flavor_projects" in s]) == 1
    assert len(private_path) == len(public) + 1
