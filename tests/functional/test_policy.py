"""Policy (oslo.policy, defaults in code): who may do what, as the upstream
projects' default rules say it, through the real API (in-process, real
PostgreSQL), and an operator's policy file taking effect in the running API
processes without a restart."""
import ipaddress
import uuid

import pytest

from tests.fixtures.credentials import DEMO_PASSWORD, login
from tests.fixtures.identity import make_user, role_id
from tests.fixtures.policy_file import write_policy
from tests.fixtures.images import upload_image
from tests.fixtures.networks import make_network

C = "/compute/v2.1"
N = "/network/v2.0"


def unique(prefix="policy"):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def forbidden(response, words):
    """A 403 in the API's own format, naming the rule."""
    assert response.status_code == 403, response.get_data(as_text=True)
    body = response.json
    if "NeutronError" in body:
        assert body["NeutronError"]["type"] == "PolicyNotAuthorized"
        message = body["NeutronError"]["message"]
    elif "error" in body:
        assert body["error"]["title"] == "Forbidden"
        message = body["error"]["message"]
    else:
        assert body["forbidden"]["code"] == 403
        message = body["forbidden"]["message"]
    assert message == words
    return message


def nova_words(rule):
    return f"Policy doesn't allow {rule} to be performed."


@pytest.fixture(scope="module")
def image_id(app, admin_headers):
    client = app.test_client()
    image = upload_image(client, admin_headers, unique("img"))
    yield image
    client.delete(f"/image/v2/images/{image}", headers=admin_headers)


@pytest.fixture(scope="module")
def reader_headers(app, admin_headers):
    """A user with only the reader role on a project of its own."""
    return make_user(app.test_client(), admin_headers, role="reader", prefix="reader")[
        "headers"]


def server_body(image_id, **extra):
    return {"server": {"name": unique("vm"), "imageRef": image_id, "flavorRef": "1",
                       **extra}}


# -- personas ----------------------------------------------------------------------------
def test_reader_can_read_but_not_create(client, reader_headers, image_id):
    assert client.get(f"{C}/servers", headers=reader_headers).status_code == 200
    assert client.get(f"{C}/flavors", headers=reader_headers).status_code == 200
    assert client.get(f"{N}/networks", headers=reader_headers).status_code == 200
    assert client.get("/image/v2/images", headers=reader_headers).status_code == 200
    forbidden(client.post(f"{C}/servers", json=server_body(image_id, networks="none"),
                          headers=reader_headers),
              nova_words("os_compute_api:servers:create"))
    forbidden(client.post(f"{N}/networks", json={"network": {"name": unique()}},
                          headers=reader_headers), "(create_network) is disallowed by policy")
    forbidden(client.post("/image/v2/images", json={"name": unique()},
                          headers=reader_headers),
              "You are not authorized to complete add_image action.")


def test_member_can_create(client, demo_headers, admin_headers):
    name = unique("kp")
    made = client.post(f"{C}/os-keypairs", json={"keypair": {"name": name}},
                       headers=demo_headers)
    assert made.status_code == 200, made.get_data(as_text=True)
    assert client.delete(f"{C}/os-keypairs/{name}", headers=demo_headers).status_code == 202
    network = client.post(f"{N}/networks", json={"network": {"name": unique()}},
                          headers=demo_headers)
    assert network.status_code == 201
    assert client.delete(f"{N}/networks/{network.json['network']['id']}",
                         headers=demo_headers).status_code == 204


def test_admin_only_rules(client, demo_headers, admin_headers):
    flavor = {"flavor": {"name": unique("fl"), "ram": 64, "vcpus": 1, "disk": 1}}
    forbidden(client.post(f"{C}/flavors", json=flavor, headers=demo_headers),
              nova_words("os_compute_api:os-flavor-manage:create"))
    made = client.post(f"{C}/flavors", json=flavor, headers=admin_headers)
    assert made.status_code == 200
    forbidden(client.delete(f"{C}/flavors/{made.json['flavor']['id']}",
                            headers=demo_headers),
              nova_words("os_compute_api:os-flavor-manage:delete"))
    assert client.delete(f"{C}/flavors/{made.json['flavor']['id']}",
                         headers=admin_headers).status_code == 202

    forbidden(client.get("/identity/v3/users", headers=demo_headers),
              "You are not authorized to perform the requested action: identity:list_users.")
    assert client.get("/identity/v3/users", headers=admin_headers).status_code == 200

    forbidden(client.post("/image/v2/images", json={"name": unique(), "visibility": "public"},
                          headers=demo_headers),
              "You are not authorized to complete publicize_image action.")
    forbidden(client.post(f"{N}/networks", json={"network": {"shared": True}},
                          headers=demo_headers), "(create_network:shared) is disallowed by policy")
    forbidden(client.get(f"{C}/os-keypairs?user_id=someone-else", headers=demo_headers),
              nova_words("os_compute_api:os-keypairs:index"))
    assert client.get(f"{C}/os-keypairs?user_id=someone-else",
                      headers=admin_headers).status_code == 200


def test_port_binding_host_is_admin_only(client, demo_headers):
    network = client.post(f"{N}/networks", json={"network": {"name": unique()}},
                          headers=demo_headers).json["network"]
    try:
        forbidden(client.post(f"{N}/ports", json={"port": {
            "network_id": network["id"], "binding:host_id": "compute1"}},
            headers=demo_headers), "(create_port:binding:host_id) is disallowed by policy")
    finally:
        client.delete(f"{N}/networks/{network['id']}", headers=demo_headers)


@pytest.mark.parametrize("path, rule", [
    ("/servers?all_tenants=1", "os_compute_api:servers:index:get_all_tenants"),
    ("/servers/detail?all_tenants=True", "os_compute_api:servers:detail:get_all_tenants"),
])
def test_all_tenants_is_admin_only(client, demo_headers, admin_headers, path, rule):
    forbidden(client.get(C + path, headers=demo_headers), nova_words(rule))
    assert client.get(C + path, headers=admin_headers).status_code == 200
    assert client.get(C + path.replace("1", "0").replace("True", "False"),
                      headers=demo_headers).status_code == 200


def test_another_users_token_is_not_shown(client, demo_headers, admin_headers,
                                          reader_headers):
    subject = {"X-Subject-Token": admin_headers["X-Auth-Token"]}
    forbidden(client.get("/identity/v3/auth/tokens", headers={**demo_headers, **subject}),
              "You are not authorized to perform the requested action: "
              "identity:validate_token.")
    own = {"X-Subject-Token": reader_headers["X-Auth-Token"]}
    assert client.get("/identity/v3/auth/tokens",
                      headers={**reader_headers, **own}).status_code == 200
    mine = {"X-Subject-Token": demo_headers["X-Auth-Token"]}
    assert client.get("/identity/v3/auth/tokens",
                      headers={**admin_headers, **mine}).status_code == 200


@pytest.mark.parametrize("action, rule", [
    ({"reboot": {"type": "SOFT"}}, "os_compute_api:servers:reboot"),
    ({"pause": None}, "os_compute_api:os-pause-server:pause"),
    ({"createImage": {"name": "snap"}}, "os_compute_api:servers:create_image"),
    ({"os-getConsoleOutput": {}}, "os_compute_api:os-console-output"),
])
def test_each_server_action_checks_its_own_rule(client, reader_headers, demo_headers,
                                                action, rule):
    path = f"{C}/servers/{uuid.uuid4()}/action"
    forbidden(client.post(path, json=action, headers=reader_headers), nova_words(rule))
    # A member passes the rule and meets the next question: no such server.
    assert client.post(path, json=action, headers=demo_headers).status_code == 404


# -- a fixed IP on another project's shared network --------------------------------------
@pytest.fixture
def shared_network(client, admin_headers):
    from nova_lite.db import bootstrap
    from nova_lite.db.session import transaction

    admin_project, _ = bootstrap.ensure_project("admin")
    octet = uuid.uuid4().int % 200
    cidr = f"10.251.{octet}.0/24"
    network_id, _ = make_network(transaction, admin_project, cidr, shared=True)
    yield network_id, ipaddress.ip_network(cidr)
    for server in client.get(f"{C}/servers?all_tenants=1",
                             headers=admin_headers).json["servers"]:
        if server["name"].startswith("policy-fixed"):
            client.delete(f"{C}/servers/{server['id']}", headers=admin_headers)
    client.delete(f"{N}/networks/{network_id}", headers=admin_headers)


def test_compute_fixed_ip_on_another_projects_shared_network_is_403(
        client, demo_headers, admin_headers, image_id, shared_network):
    network_id, net = shared_network
    nic = {"uuid": network_id, "fixed_ip": str(net[20])}
    body = server_body(image_id, networks=[nic])
    body["server"]["name"] = unique("policy-fixed")
    forbidden(client.post(f"{C}/servers", json=body, headers=demo_headers),
              nova_words("create_port:fixed_ips:ip_address"))
    # The Networking API says the same (in its words).
    forbidden(client.post(f"{N}/ports", json={"port": {
        "network_id": network_id, "fixed_ips": [{"ip_address": str(net[21])}]}},
        headers=demo_headers), "(create_port:fixed_ips:ip_address) is disallowed by policy")
    # Without a fixed IP the shared network is demo's to use; with one, the
    # network's owner (admin) may.
    body["server"]["networks"] = [{"uuid": network_id}]
    assert client.post(f"{C}/servers", json=body, headers=demo_headers).status_code == 202
    body["server"]["networks"] = [nic]
    made = client.post(f"{C}/servers", json=body, headers=admin_headers)
    assert made.status_code == 202, made.get_data(as_text=True)


# -- unscoped tokens ---------------------------------------------------------------------
def test_unscoped_token_gets_no_project_api(client, image_id):
    """The auth middleware refuses unscoped tokens on the project APIs (401,
    as keystonemiddleware's services); the rules would deny them too (no
    role: tests/unit/test_policy.py)."""
    headers = login(client, "demo", DEMO_PASSWORD, None, unscoped=True)
    for method, path, body in (
            ("GET", f"{C}/servers", None),
            ("POST", f"{C}/servers", server_body(image_id, networks="none")),
            ("POST", f"{C}/os-keypairs", {"keypair": {"name": unique()}}),
            ("POST", f"{N}/networks", {"network": {"name": unique()}}),
            ("GET", "/image/v2/images", None)):
        response = client.open(path, method=method, json=body, headers=headers)
        assert response.status_code == 401, (path, response.get_data(as_text=True))
    # It may still look at itself.
    own = {"X-Subject-Token": headers["X-Auth-Token"]}
    shown = client.get("/identity/v3/auth/tokens", headers={**headers, **own})
    assert shown.status_code == 200 and "project" not in shown.json["token"]
    # But not list users (Identity: 403).
    assert client.get("/identity/v3/users", headers=headers).status_code == 403


def test_user_without_default_project_gets_an_unscoped_token(client, admin_headers):
    name, password = unique("nodefault"), "pw-0123456789"
    user = client.post("/identity/v3/users", headers=admin_headers, json={"user": {
        "name": name, "password": password}})
    assert user.status_code == 201, user.get_data(as_text=True)
    demo = client.get("/identity/v3/projects?name=demo", headers=admin_headers).json[
        "projects"][0]["id"]
    granted = client.put(f"/identity/v3/projects/{demo}/users/{user.json['user']['id']}"
                         f"/roles/{role_id(client, admin_headers, 'member')}",
                         headers=admin_headers)
    assert granted.status_code == 204
    headers = login(client, name, password, None)
    assert client.get(f"{N}/networks", headers=headers).status_code == 401
    scoped = login(client, name, password, "demo")
    assert client.get(f"{N}/networks", headers=scoped).status_code == 200


# -- an operator's override, in the running API processes --------------------------------
def test_policy_file_override_applies_without_restart(cloud):
    api_pid = cloud.procs["api"].pid
    rule = "os_compute_api:os-keypairs:create"

    def create():
        name = unique("kp")
        return name, cloud.demo.compute("POST", "/os-keypairs",
                                        json={"keypair": {"name": name}})

    name, made = create()
    assert made.status_code == 200, made.text
    cloud.demo.compute("DELETE", f"/os-keypairs/{name}")
    try:
        write_policy(cloud.policy_file, {rule: "rule:admin_api"})
        # Two API workers: each must see the file, whichever answers.
        for _ in range(4):
            _, refused = create()
            assert refused.status_code == 403, refused.text
            assert refused.json() == {"forbidden": {"code": 403,
                                                    "message": nova_words(rule)}}
        name, made = cloud.admin.compute("POST", "/os-keypairs",
                                         json={"keypair": {"name": unique("kp")}}), None
        assert name.status_code == 200
    finally:
        write_policy(cloud.policy_file, None)
    for _ in range(4):
        name, made = create()
        assert made.status_code == 200, made.text
        cloud.demo.compute("DELETE", f"/os-keypairs/{name}")
    assert cloud.procs["api"].pid == api_pid
