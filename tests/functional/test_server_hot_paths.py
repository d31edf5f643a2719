"""The rows POST /servers and DELETE /servers/{id} write, and their answers
(in-process API, real PostgreSQL): the cheap paths (Core inserts, the
one-statement delete, the flavor and token caches) must write exactly what
the request asks for and refuse exactly what they refused before."""
import uuid

import pytest
from sqlalchemy import text

from nova_lite.rpc import casts
from tests.fixtures.credentials import DEMO_PASSWORD, login
from tests.fixtures.images import upload_image

PROJECT = "hotpath"
COMPUTE = "/compute/v2.1"


def rows(sql, **params):
    from nova_lite.db.session import reader
    with reader() as session:
        return [dict(r._mapping) for r in session.execute(text(sql), params)]


def execute(sql, **params):
    from nova_lite.db.session import transaction
    with transaction() as session:
        session.execute(text(sql), params)


@pytest.fixture(scope="module")
def headers(app):
    """A user in a project of its own: no network, so no NIC ('auto' finds none)."""
    from nova_lite.db import bootstrap
    bootstrap.ensure_user("hotpath-user", DEMO_PASSWORD, PROJECT, "member")
    return login(app.test_client(), "hotpath-user", DEMO_PASSWORD, PROJECT)


@pytest.fixture(scope="module")
def image_id(app, admin_headers):
    return upload_image(app.test_client(), admin_headers, "hotpath")


def create(client, headers, image_id, expect=202, **server):
    body = {"server": {"name": f"hp-{uuid.uuid4().hex[:6]}", "imageRef": image_id,
                       "flavorRef": "1", **server}}
    response = client.post(COMPUTE + "/servers", json=body, headers=headers)
    assert response.status_code == expect, response.get_data(as_text=True)
    return response.json


def place(server_id, host="hp-host"):
    execute("UPDATE instances SET host = :host, node = :host, vm_state = 'active', "
            "task_state = NULL, power_state = 1 WHERE uuid = :uuid",
            host=host, uuid=server_id)


def test_create_writes_the_instance_its_action_and_its_build_message(
        client, headers, image_id):
    body = create(client, headers, image_id, metadata={"k": "v"})
    server = body["server"]
    assert server["adminPass"] and len(server["adminPass"]) == 12
    assert server["adminPass"].isalnum()
    assert server["security_groups"] == [{"name": "default"}]
    assert server["links"][0]["href"].endswith(f"/compute/v2.1/servers/{server['id']}")
    (instance,) = rows("SELECT * FROM instances WHERE uuid = :u", u=server["id"])
    assert instance["vm_state"] == "building" and instance["task_state"] == "scheduling"
    assert instance["power_state"] == 0 and instance["launch_index"] == 0
    assert instance["flavor_id"] == "1" and instance["image_ref"] == image_id
    assert instance["flavor"]["name"] == "m1.tiny" and instance["flavor"]["extra_specs"] == {}
    assert (instance["vcpus"], instance["memory_mb"], instance["root_gb"]) == (1, 512, 1)
    assert instance["metadata"] == {"k": "v"} and instance["config_drive"] == ""
    assert instance["created_at"] is not None and instance["updated_at"] is None
    assert instance["task_updated_at"] is not None and instance["id"] is not None
    assert not instance["deleted"] and not instance["locked"] and instance["host"] is None
    (action,) = rows("SELECT * FROM instance_actions WHERE instance_uuid = :u", u=server["id"])
    assert action["action"] == "create" and action["request_id"].startswith("req-")
    assert action["project_id"] == instance["project_id"]
    assert action["user_id"] == instance["user_id"] and action["finish_time"] is None
    expected = casts.build_instance(server["id"])
    (message,) = rows("SELECT routing_key, body FROM outbox WHERE body->>'method' = :m "
                      "AND body->'args'->>'instance_uuid' = :u",
                      m=expected.method, u=server["id"])
    assert message["routing_key"] == expected.topic
    assert message["body"]["method"] == expected.method
    assert message["body"]["args"] == expected.args
    assert message["body"]["request_id"] == action["request_id"]
    assert message["body"]["context"]["project_id"] == instance["project_id"]
    # No NIC: no port, and the server still shows.
    assert rows("SELECT id FROM ports WHERE device_id = :u", u=server["id"]) == []
    shown = client.get(f"{COMPUTE}/servers/{server['id']}", headers=headers)
    assert shown.status_code == 200
    assert shown.json["server"]["status"] == "BUILD"
    assert shown.json["server"]["addresses"] == {}


def test_multi_create_writes_every_row_in_order(client, headers, image_id):
    name = f"hp-multi-{uuid.uuid4().hex[:6]}"
    body = create(client, headers, image_id, name=name, min_count=3, max_count=3,
                  return_reservation_id=True)
    found = rows("SELECT uuid, name, launch_index, id FROM instances "
                 "WHERE reservation_id = :r ORDER BY launch_index", r=body["reservation_id"])
    assert [r["name"] for r in found] == [f"{name}-1", f"{name}-2", f"{name}-3"]
    assert [r["launch_index"] for r in found] == [0, 1, 2]
    assert sorted(r["id"] for r in found) == [r["id"] for r in found]
    uuids = [r["uuid"] for r in found]
    actions = rows("SELECT instance_uuid FROM instance_actions WHERE action = 'create' "
                   "AND instance_uuid = ANY(:u)", u=uuids)
    # One message for the whole request: its instances are placed together.
    messages = rows("SELECT routing_key, body->>'method' AS m, body->'args' AS args "
                    "FROM outbox WHERE body->'args'->'instance_uuids' ?| :u", u=uuids)
    assert sorted(a["instance_uuid"] for a in actions) == sorted(uuids)
    expected = casts.schedule_instances(uuids)
    assert [(m["routing_key"], m["m"], m["args"]) for m in messages] == [
        (expected.topic, expected.method, {"instance_uuids": uuids})]
    singles = rows("SELECT id FROM outbox WHERE body->'args'->>'instance_uuid' = ANY(:u)",
                   u=uuids)
    assert singles == []


@pytest.mark.parametrize("server, message", [
    ({"flavorRef": "no-such"}, "Flavor no-such could not be found."),
    ({"imageRef": "not-a-uuid"}, "Invalid imageRef provided: not-a-uuid"),
    ({"imageRef": "6e7c7a1e-0000-4000-8000-000000000000"},
     "Image 6e7c7a1e-0000-4000-8000-000000000000 could not be found."),
    ({"min_count": 2, "max_count": 1}, "min_count must be <= max_count"),
    ({"max_count": 1001}, "max_count must be <= 1000"),
    ({"security_groups": [{"name": "nope"}]},
     "Unable to find security_group with name or id 'nope'"),
    ({"name": ""}, ("Invalid input for field/attribute server/name. Value: ''. "
                    "'' should be non-empty")),
    ({"flavorRef": []}, ("Invalid input for field/attribute server/flavorRef. Value: []. "
                         "[] is not of type 'string', 'integer'")),
])
def test_bad_creates_are_400_with_their_message(client, headers, image_id, server, message):
    body = create(client, headers, image_id, expect=400, **server)
    assert body["badRequest"]["message"] == message


def test_a_disabled_or_deleted_flavor_is_refused(client, headers, admin_headers, image_id):
    from nova_lite.db import bootstrap
    flavorid = f"hp-{uuid.uuid4().hex[:6]}"
    bootstrap.ensure_flavor(flavorid, flavorid, 1, 64, 1)
    create(client, headers, image_id, flavorRef=flavorid)          # looked up, cached
    deleted = client.delete(f"{COMPUTE}/flavors/{flavorid}", headers=admin_headers)
    assert deleted.status_code == 202
    body = create(client, headers, image_id, expect=400, flavorRef=flavorid)
    assert body["badRequest"]["message"] == f"Flavor {flavorid} could not be found."
    disabled = f"hp-{uuid.uuid4().hex[:6]}"
    bootstrap.ensure_flavor(disabled, disabled, 1, 64, 1)
    execute("UPDATE flavors SET disabled = true WHERE flavorid = :f", f=disabled)
    body = create(client, headers, image_id, expect=400, flavorRef=disabled)
    assert body["badRequest"]["message"] == f"Flavor {disabled} could not be found."


def test_delete_of_a_placed_server_hands_it_to_its_host(client, headers, image_id):
    server_id = create(client, headers, image_id)["server"]["id"]
    place(server_id, "hp-host-1")
    response = client.delete(f"{COMPUTE}/servers/{server_id}", headers=headers)
    assert response.status_code == 204
    (instance,) = rows("SELECT task_state, vm_state, deleted, updated_at, task_updated_at "
                       "FROM instances WHERE uuid = :u", u=server_id)
    assert instance["task_state"] == "deleting" and instance["vm_state"] == "active"
    assert not instance["deleted"] and instance["updated_at"] is not None
    (action,) = rows("SELECT * FROM instance_actions WHERE instance_uuid = :u "
                     "AND action = 'delete'", u=server_id)
    assert action["request_id"] == response.headers["X-Openstack-Request-Id"]
    assert action["finish_time"] is None and action["project_id"]
    (message,) = rows("SELECT routing_key, body FROM outbox WHERE "
                      "body->>'method' = 'terminate_instance' AND "
                      "body->'args'->>'instance_uuid' = :u", u=server_id)
    assert message["routing_key"] == casts.terminate_instance("hp-host-1", server_id).topic
    assert message["body"]["request_id"] == action["request_id"]
    # Again while it is being deleted: 204, nothing more written.
    assert client.delete(f"{COMPUTE}/servers/{server_id}", headers=headers).status_code == 204
    assert len(rows("SELECT id FROM instance_actions WHERE instance_uuid = :u "
                    "AND action = 'delete'", u=server_id)) == 1
    assert len(rows("SELECT id FROM outbox WHERE body->>'method' = 'terminate_instance' "
                    "AND body->'args'->>'instance_uuid' = :u", u=server_id)) == 1


def test_delete_of_a_server_never_placed_removes_it_at_once(client, headers, image_id):
    server_id = create(client, headers, image_id)["server"]["id"]
    assert client.delete(f"{COMPUTE}/servers/{server_id}", headers=headers).status_code == 204
    (instance,) = rows("SELECT deleted, vm_state FROM instances WHERE uuid = :u", u=server_id)
    assert instance["deleted"] and instance["vm_state"] == "deleted"
    (action,) = rows("SELECT finish_time FROM instance_actions WHERE instance_uuid = :u "
                     "AND action = 'delete'", u=server_id)
    assert action["finish_time"] is not None
    gone = client.get(f"{COMPUTE}/servers/{server_id}", headers=headers)
    assert gone.status_code == 404
    assert client.delete(f"{COMPUTE}/servers/{server_id}", headers=headers).status_code == 404


def test_a_locked_server_is_deleted_only_by_an_admin(client, headers, admin_headers,
                                                    image_id):
    server_id = create(client, headers, image_id)["server"]["id"]
    place(server_id)
    execute("UPDATE instances SET locked = true WHERE uuid = :u", u=server_id)
    refused = client.delete(f"{COMPUTE}/servers/{server_id}", headers=headers)
    assert refused.status_code == 409
    assert refused.json["conflictingRequest"]["message"] == f"Instance {server_id} is locked"
    assert rows("SELECT id FROM instance_actions WHERE instance_uuid = :u "
                "AND action = 'delete'", u=server_id) == []
    done = client.delete(f"{COMPUTE}/servers/{server_id}", headers=admin_headers)
    assert done.status_code == 204
    (instance,) = rows("SELECT task_state FROM instances WHERE uuid = :u", u=server_id)
    assert instance["task_state"] == "deleting"


def test_other_projects_and_bad_ids_are_404(client, headers, demo_headers, image_id):
    server_id = create(client, headers, image_id)["server"]["id"]
    place(server_id)
    for who, ident in ((demo_headers, server_id), (headers, "nope"),
                       (headers, server_id.upper()), (headers, str(uuid.uuid4()))):
        response = client.delete(f"{COMPUTE}/servers/{ident}", headers=who)
        assert response.status_code == 404
        assert response.json["itemNotFound"]["message"] == \
            f"Instance {ident} could not be found."
    (instance,) = rows("SELECT task_state FROM instances WHERE uuid = :u", u=server_id)
    assert instance["task_state"] is None


def test_a_token_checked_once_keeps_working_and_garbage_does_not(client, headers):
    for _ in range(3):
        assert client.get(COMPUTE + "/flavors", headers=headers).status_code == 200
    bad = headers["X-Auth-Token"][:-4] + "AAAA"
    assert client.get(COMPUTE + "/flavors", headers={"X-Auth-Token": bad}).status_code == 401
