"""Another project's resource the caller may not see gets exactly the answer
a random id gets (status and body, the id aside), wherever an id is taken:
list markers, imageRef, networks[].uuid/port, security group names, floating
IP association, remote_group_id (in-process API, real PostgreSQL).

The hidden resources are the admin project's (made by admin, not shared);
the asker is a member of a project of its own. CIDRs: 10.160.0.0/16."""
import json
import uuid

import pytest

from tests.fixtures.credentials import DEMO_PASSWORD, login
from tests.fixtures.images import upload_image

COMPUTE = "/compute/v2.1"
NET = "/network/v2.0"
IMAGES = "/image/v2/images"


@pytest.fixture(scope="module")
def member(app):
    from nova_lite.db import bootstrap
    bootstrap.ensure_user("nf-user", DEMO_PASSWORD, "notfound", "member")
    return login(app.test_client(), "nf-user", DEMO_PASSWORD, "notfound")


def _ok(response, status=None):
    assert response.status_code < 300, response.get_data(as_text=True)
    assert status is None or response.status_code == status
    return response.json


@pytest.fixture(scope="module")
def hidden(app, admin_headers):
    """The admin project's resources: {kind: id}, deleted afterwards."""
    client = app.test_client()
    h = admin_headers
    out = {}
    out["image"] = upload_image(client, h, "nf-public")       # public: for booting
    private = _ok(client.post(IMAGES, headers=h, json={
        "name": "nf-private", "disk_format": "qcow2", "container_format": "bare",
        "visibility": "private"}))
    client.put(f"{IMAGES}/{private['id']}/file", data=b"\0" * 1024,
               headers={**h, "Content-Type": "application/octet-stream"})
    out["private_image"] = private["id"]
    server = _ok(client.post(f"{COMPUTE}/servers", headers=h, json={"server": {
        "name": "nf-admin", "imageRef": out["image"], "flavorRef": "1",
        "networks": "none"}}))
    out["server"] = server["server"]["id"]
    network = _ok(client.post(f"{NET}/networks", headers=h,
                              json={"network": {"name": "nf-admin-net"}}))["network"]
    out["network"] = network["id"]
    out["subnet"] = _ok(client.post(f"{NET}/subnets", headers=h, json={"subnet": {
        "network_id": network["id"], "cidr": "10.160.1.0/24",
        "ip_version": 4}}))["subnet"]["id"]
    out["port"] = _ok(client.post(f"{NET}/ports", headers=h, json={
        "port": {"network_id": network["id"]}}))["port"]["id"]
    group = _ok(client.post(f"{NET}/security-groups", headers=h, json={
        "security_group": {"name": "nf-admin-group"}}))["security_group"]
    out["security_group"] = group["id"]
    out["security_group_rule"] = _ok(client.post(
        f"{NET}/security-group-rules", headers=h, json={"security_group_rule": {
            "security_group_id": group["id"], "direction": "ingress",
            "protocol": "tcp", "port_range_min": 22, "port_range_max": 22}})
    )["security_group_rule"]["id"]
    external = _ok(client.post(f"{NET}/networks", headers=h, json={"network": {
        "name": "nf-ext", "router:external": True}}))["network"]
    out["external"] = external["id"]
    out["external_subnet"] = _ok(client.post(f"{NET}/subnets", headers=h, json={"subnet": {
        "network_id": external["id"], "cidr": "10.160.2.0/24",
        "ip_version": 4}}))["subnet"]["id"]
    out["floatingip"] = _ok(client.post(f"{NET}/floatingips", headers=h, json={
        "floatingip": {"floating_network_id": external["id"]}}))["floatingip"]["id"]
    yield out
    client.delete(f"{COMPUTE}/servers/{out['server']}", headers=h)
    for path in ("floatingips", "ports", "security-group-rules", "security-groups",
                 "subnets", "subnets", "networks", "networks"):
        for kind in {"floatingips": ["floatingip"], "ports": ["port"],
                     "security-group-rules": ["security_group_rule"],
                     "security-groups": ["security_group"],
                     "subnets": ["subnet", "external_subnet"],
                     "networks": ["network", "external"]}[path]:
            client.delete(f"{NET}/{path}/{out[kind]}", headers=h)


def same_answer(call, hidden_id):
    """``call(id)`` answers the hidden id as it answers a random one."""
    missing = str(uuid.uuid4())
    seen, unseen = call(hidden_id), call(missing)
    assert seen.status_code == unseen.status_code, (seen.get_data(as_text=True),
                                                    unseen.get_data(as_text=True))
    assert 400 <= seen.status_code < 500
    text = json.dumps(seen.json, sort_keys=True).replace(hidden_id, "ID")
    assert text == json.dumps(unseen.json, sort_keys=True).replace(missing, "ID")


@pytest.mark.parametrize("path, kind", [
    (f"{COMPUTE}/servers", "server"),
    (f"{COMPUTE}/servers/detail", "server"),
    (f"{COMPUTE}/images", "private_image"),
    (f"{COMPUTE}/images/detail", "private_image"),
    (IMAGES, "private_image"),
    (f"{NET}/networks", "network"),
    (f"{NET}/subnets", "subnet"),
    (f"{NET}/ports", "port"),
    (f"{NET}/floatingips", "floatingip"),
    (f"{NET}/security-groups", "security_group"),
    (f"{NET}/security-group-rules", "security_group_rule"),
])
def test_a_hidden_marker_is_a_missing_marker(client, member, hidden, path, kind):
    same_answer(lambda ident: client.get(f"{path}?marker={ident}", headers=member),
                hidden[kind])


@pytest.mark.parametrize("path, kind", [
    (f"{COMPUTE}/servers/{{}}", "server"),
    (f"{COMPUTE}/images/{{}}", "private_image"),
    (f"{IMAGES}/{{}}", "private_image"),
    (f"{NET}/networks/{{}}", "network"),
    (f"{NET}/subnets/{{}}", "subnet"),
    (f"{NET}/ports/{{}}", "port"),
    (f"{NET}/floatingips/{{}}", "floatingip"),
    (f"{NET}/security-groups/{{}}", "security_group"),
    (f"{NET}/security-group-rules/{{}}", "security_group_rule"),
])
def test_a_hidden_resource_is_a_missing_one(client, member, hidden, path, kind):
    same_answer(lambda ident: client.get(path.format(ident), headers=member), hidden[kind])


def boot(client, member, hidden, **server):
    body = {"server": {"name": "nf", "imageRef": hidden["image"], "flavorRef": "1",
                       "networks": "none", **server}}
    return client.post(f"{COMPUTE}/servers", headers=member, json=body)


def test_server_create_answers_hidden_ids_as_missing_ones(client, member, hidden):
    same_answer(lambda i: boot(client, member, hidden, imageRef=i), hidden["private_image"])
    same_answer(lambda i: boot(client, member, hidden, networks=[{"uuid": i}]),
                hidden["network"])
    same_answer(lambda i: boot(client, member, hidden, networks=[{"port": i}]),
                hidden["port"])
    same_answer(lambda i: boot(client, member, hidden, networks=[{"port": i}]),
                hidden["floatingip"])
    # An external network it may see gets its own answer; a hidden one does not.
    same_answer(lambda i: boot(client, member, hidden, security_groups=[{"name": i}]),
                hidden["security_group"])
    name = boot(client, member, hidden, security_groups=[{"name": "nf-admin-group"}])
    nobody = boot(client, member, hidden, security_groups=[{"name": "nf-nobody-group"}])
    assert name.status_code == nobody.status_code == 400
    assert name.json["badRequest"]["message"].replace("nf-admin-group", "N") == \
        nobody.json["badRequest"]["message"].replace("nf-nobody-group", "N")


def test_network_requests_answer_hidden_ids_as_missing_ones(client, member, hidden):
    def post(path, body):
        return client.post(f"{NET}/{path}", headers=member, json=body)

    same_answer(lambda i: post("ports", {"port": {"network_id": i}}), hidden["network"])
    same_answer(lambda i: post("subnets", {"subnet": {
        "network_id": i, "cidr": "10.160.9.0/24", "ip_version": 4}}), hidden["network"])
    own = _ok(post("security-groups", {"security_group": {"name": "nf-own"}}))
    own_id = own["security_group"]["id"]
    try:
        same_answer(lambda i: post("security-group-rules", {"security_group_rule": {
            "security_group_id": own_id, "direction": "ingress",
            "remote_group_id": i}}), hidden["security_group"])
        same_answer(lambda i: post("security-group-rules", {"security_group_rule": {
            "security_group_id": i, "direction": "ingress"}}), hidden["security_group"])
        fip = _ok(post("floatingips", {"floatingip": {
            "floating_network_id": hidden["external"]}}))["floatingip"]
        try:
            same_answer(lambda i: client.put(f"{NET}/floatingips/{fip['id']}",
                                             headers=member,
                                             json={"floatingip": {"port_id": i}}),
                        hidden["port"])
            same_answer(lambda i: post("floatingips", {"floatingip": {
                "floating_network_id": hidden["external"], "port_id": i}}),
                hidden["port"])
        finally:
            client.delete(f"{NET}/floatingips/{fip['id']}", headers=member)
    finally:
        client.delete(f"{NET}/security-groups/{own_id}", headers=member)
