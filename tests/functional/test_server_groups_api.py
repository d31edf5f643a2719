"""os-server-groups and the scheduler hints at the API (in-process API, real
PostgreSQL; no worker services: the servers stay in BUILD, and what the
scheduler does with them is tests/functional/test_server_groups.py's): the
bodies at 2.1, 2.13, 2.15 and 2.64 (against Tempest's schemas), a member's
group in its server body at 2.71, who sees which group, the quotas, and what a create may ask
of the scheduler."""
import uuid

import pytest
from sqlalchemy import text

from tests.fixtures import tempest_schemas as ts
from tests.fixtures.images import upload_image
from tests.fixtures.quotas import Member

COMPUTE = "/compute/v2.1"
GROUPS = f"{COMPUTE}/os-server-groups"


@pytest.fixture(scope="module")
def image_id(app, admin_headers):
    return upload_image(app.test_client(), admin_headers, "sg-image")


@pytest.fixture
def member(app):
    return Member(app, "sg-" + uuid.uuid4().hex[:8])


def make_group(client, headers, policy="anti-affinity", expect=200, name=None):
    response = client.post(GROUPS, headers=headers, json={"server_group": {
        "name": name or f"g-{uuid.uuid4().hex[:6]}", "policies": [policy]}})
    assert response.status_code == expect, response.get_data(as_text=True)
    return response.json.get("server_group") if expect == 200 else response.json


def boot(client, headers, image_id, expect=202, hints=None, **server):
    body = {"server": {"name": f"sg-{uuid.uuid4().hex[:6]}", "imageRef": image_id,
                       "flavorRef": "1", "networks": "none", **server}}
    if hints is not None:
        body["os:scheduler_hints"] = hints
    response = client.post(f"{COMPUTE}/servers", headers=headers, json=body)
    assert response.status_code == expect, response.get_data(as_text=True)
    return response.json


def spec_of(server_id):
    from nova_lite.db.session import reader
    with reader() as session:
        return session.execute(text(
            "SELECT r.group_id, g.uuid AS group_uuid, r.hints, r.force_host, r.force_node, "
            "i.availability_zone FROM instances i LEFT JOIN request_specs r ON "
            "r.instance_uuid = i.uuid LEFT JOIN instance_groups g ON g.id = r.group_id "
            "WHERE i.uuid = :u"), {"u": server_id}).one()


def test_create_list_show_delete_at_2_1(client, member):
    group = make_group(client, member.headers, "affinity", name="web")
    assert set(group) == {"id", "name", "policies", "members", "metadata"}
    assert (group["name"], group["policies"], group["members"], group["metadata"]) == \
        ("web", ["affinity"], [], {})
    listed = client.get(GROUPS, headers=member.headers).json["server_groups"]
    assert [g["id"] for g in listed] == [group["id"]]
    shown = client.get(f"{GROUPS}/{group['id']}", headers=member.headers)
    assert shown.status_code == 200 and shown.json["server_group"] == group
    assert client.delete(f"{GROUPS}/{group['id']}", headers=member.headers).status_code == 204
    gone = client.get(f"{GROUPS}/{group['id']}", headers=member.headers)
    assert gone.status_code == 404 and "itemNotFound" in gone.json


def test_policies_at_2_1_and_bad_bodies(client, member):
    # Soft policies come with 2.15 and policy/rules with 2.64: at 2.1 they are refused.
    for body in ({"name": "x", "policies": ["soft-affinity"]},
                 {"name": "x", "policies": ["no-such"]},
                 {"name": "x", "policies": ["affinity", "anti-affinity"]},
                 {"name": "x", "policy": "anti-affinity"},
                 {"name": "x"}, {"name": "", "policies": ["affinity"]}):
        response = client.post(GROUPS, headers=member.headers, json={"server_group": body})
        assert response.status_code == 400, (body, response.get_data(as_text=True))
        assert "badRequest" in response.json


def test_another_projects_group_is_not_found_but_an_admin_sees_it(client, member,
                                                                  admin_headers, app):
    group = make_group(client, member.headers)
    other = Member(app, "sg-" + uuid.uuid4().hex[:8])
    assert client.get(f"{GROUPS}/{group['id']}", headers=other.headers).status_code == 404
    assert client.delete(f"{GROUPS}/{group['id']}", headers=other.headers).status_code == 404
    assert group["id"] not in [g["id"] for g in client.get(
        GROUPS, headers=other.headers).json["server_groups"]]
    refused = client.get(f"{GROUPS}?all_projects=1", headers=other.headers)
    assert refused.status_code == 403
    everyone = client.get(f"{GROUPS}?all_projects=1", headers=admin_headers)
    assert group["id"] in [g["id"] for g in everyone.json["server_groups"]]
    assert client.get(f"{GROUPS}/{group['id']}", headers=admin_headers).status_code == 200


def test_the_group_hint_makes_a_member_and_counts_against_its_quota(
        client, member, admin_headers, image_id):
    set_quota = client.put(f"{COMPUTE}/os-quota-sets/{member.project_id}",
                           headers=admin_headers, json={"quota_set": {
                               "server_groups": 1, "server_group_members": 2}})
    assert set_quota.status_code == 200, set_quota.get_data(as_text=True)
    group = make_group(client, member.headers)
    over = make_group(client, member.headers, expect=403)
    assert over["forbidden"]["message"] == "Quota exceeded, too many server groups."
    first = boot(client, member.headers, image_id, hints={"group": group["id"]})
    second = boot(client, member.headers, image_id, hints={"group": group["id"]})
    members = client.get(f"{GROUPS}/{group['id']}", headers=member.headers)
    assert sorted(members.json["server_group"]["members"]) == sorted(
        [first["server"]["id"], second["server"]["id"]])
    refused = boot(client, member.headers, image_id, expect=403,
                   hints={"group": group["id"]})
    assert refused["forbidden"]["message"] == "Quota exceeded, too many servers in group"
    multi = boot(client, member.headers, image_id, expect=403, min_count=2,
                 hints={"group": group["id"]})
    assert "too many servers in group" in multi["forbidden"]["message"]
    # A deleted member frees its place.
    assert client.delete(f"{COMPUTE}/servers/{first['server']['id']}",
                         headers=member.headers).status_code == 204
    again = boot(client, member.headers, image_id, hints={"group": group["id"]})
    assert spec_of(again["server"]["id"]).group_uuid == group["id"]


def test_hints_are_validated_and_kept_for_the_scheduler(client, demo_headers, image_id):
    unknown = boot(client, demo_headers, image_id, expect=400,
                   hints={"group": str(uuid.uuid4())})
    assert "Invalid server group" in unknown["badRequest"]["message"]
    for bad in ({"group": "not-a-uuid"}, {"same_host": ["nope"]},
                {"build_near_host_ip": "300.1.1.1"},
                {"build_near_host_ip": "10.0.0.1", "cidr": "24"}):
        boot(client, demo_headers, image_id, expect=400, hints=bad)
    near = str(uuid.uuid4())
    server = boot(client, demo_headers, image_id, hints={
        "same_host": near, "different_host": [near], "build_near_host_ip": "10.1.2.3",
        "cidr": "/16", "unknown_hint": "ignored"})["server"]
    spec = spec_of(server["id"])
    assert spec.hints == {"same_host": [near], "different_host": [near],
                          "build_near_host_ip": "10.1.2.3", "cidr": "/16"}
    plain = boot(client, demo_headers, image_id)["server"]
    assert spec_of(plain["id"]).hints is None, "a plain create writes no request spec"


def test_only_an_admin_may_force_a_host(client, demo_headers, admin_headers, image_id):
    refused = boot(client, demo_headers, image_id, expect=403,
                   availability_zone="nova:compute1")
    assert "servers:create:forced_host" in refused["forbidden"]["message"]
    server = boot(client, admin_headers, image_id,
                  availability_zone="nova:compute1:node1")["server"]
    spec = spec_of(server["id"])
    assert (spec.force_host, spec.force_node, spec.availability_zone) == \
        ("compute1", "node1", "nova")
    zoned = boot(client, demo_headers, image_id, availability_zone="nova")["server"]
    assert spec_of(zoned["id"]).availability_zone == "nova"


@pytest.mark.parametrize("version,spec", [
    ("2.13", {"policies": ["affinity"]}),
    ("2.15", {"policies": ["soft-anti-affinity"]}),
    ("2.64", {"policy": "anti-affinity", "rules": {"max_server_per_host": 2}}),
])
def test_group_bodies_at_later_microversions_are_tempests(client, member, image_id,
                                                          version, spec):
    headers = ts.headers(member.headers, version)
    created = client.post(GROUPS, headers=headers, json={"server_group": dict(
        name=f"g-{uuid.uuid4().hex[:6]}", **spec)})
    ts.validate(created, version, "create_server_group")
    group = created.json["server_group"]
    assert group["project_id"] == member.project_id and group["user_id"] == member.user_id
    if version == "2.64":
        assert (group["policy"], group["rules"]) == ("anti-affinity",
                                                     {"max_server_per_host": 2})
        old_shape = client.post(GROUPS, headers=headers, json={"server_group": {
            "name": "old", "policies": ["anti-affinity"]}})
        assert old_shape.status_code == 400
    else:
        assert group["policies"] == spec["policies"]
    server = boot(client, member.headers, image_id, hints={"group": group["id"]})
    ts.validate(client.get(f"{GROUPS}/{group['id']}", headers=headers), version,
                "show_server_group")
    listed = client.get(GROUPS, headers=headers)
    ts.validate(listed, version, "list_server_groups")
    assert [g["members"] for g in listed.json["server_groups"]
            if g["id"] == group["id"]] == [[server["server"]["id"]]]
    # From 2.71 a server's body names its group (show and update).
    shown = client.get(f"{COMPUTE}/servers/{server['server']['id']}",
                       headers=ts.headers(member.headers, "2.71"))
    ts.validate(shown, "2.71", "get_server")
    assert shown.json["server"]["server_groups"] == [group["id"]]
    ts.validate(client.delete(f"{GROUPS}/{group['id']}", headers=headers), version,
                "delete_server_group")
