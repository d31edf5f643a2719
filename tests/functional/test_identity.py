"""Identity v3 through the API against the real PostgreSQL."""


def test_password_login_returns_token_and_catalog(client):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"name": "Default"}, "password": "admin-secret"}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
    response = client.post("/identity/v3/auth/tokens", json=body)
    assert response.status_code == 201
    token = response.json["token"]
    assert response.headers["X-Subject-Token"]
    assert token["project"]["name"] == "admin"
    assert {r["name"] for r in token["roles"]} >= {"admin", "member", "reader"}
    types = {s["type"] for s in token["catalog"]}
    assert {"identity", "compute", "image"} <= types
    assert response.headers["X-Openstack-Request-Id"].startswith("req-")


def test_wrong_password_is_401_in_keystone_format(client):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": "nope"}}}}}
    response = client.post("/identity/v3/auth/tokens", json=body)
    assert response.status_code == 401
    assert response.json["error"]["code"] == 401
    assert response.json["error"]["title"] == "Unauthorized"


def test_malformed_json_is_400(client):
    response = client.post("/identity/v3/auth/tokens", data="{nope",
                           content_type="application/json")
    assert response.status_code == 400
    assert "Malformed" in response.json["error"]["message"]


def test_wrong_token_is_401(client):
    response = client.get("/identity/v3/projects", headers={"X-Auth-Token": "garbage"})
    assert response.status_code == 401


def test_token_validation_and_projects(client, admin_headers, demo_headers):
    response = client.get("/identity/v3/auth/tokens",
                          headers={**admin_headers,
                                   "X-Subject-Token": demo_headers["X-Auth-Token"]})
    assert response.status_code == 200
    assert response.json["token"]["project"]["name"] == "demo"
    names = {p["name"] for p in client.get("/identity/v3/projects",
                                           headers=admin_headers).json["projects"]}
    assert {"admin", "demo"} <= names
    demo_names = {p["name"] for p in client.get("/identity/v3/projects",
                                                headers=demo_headers).json["projects"]}
    assert demo_names == {"demo"}


def test_a_user_cannot_validate_another_users_token(client, admin_headers, demo_headers):
    response = client.get("/identity/v3/auth/tokens",
                          headers={**demo_headers,
                                   "X-Subject-Token": admin_headers["X-Auth-Token"]})
    assert response.status_code == 403
    assert response.json["error"]["title"] == "Forbidden"
    assert "roles" not in response.get_data(as_text=True)
    own = client.get("/identity/v3/auth/tokens",
                     headers={**demo_headers, "X-Subject-Token": demo_headers["X-Auth-Token"]})
    assert own.status_code == 200
    # A member's token carries the reader role member implies.
    assert {r["name"] for r in own.json["token"]["roles"]} == {"member", "reader"}


def test_demo_cannot_list_users(client, demo_headers):
    response = client.get("/identity/v3/users", headers=demo_headers)
    assert response.status_code == 403


def test_version_documents_are_public(client):
    assert client.get("/identity/v3").json["version"]["id"].startswith("v3")
    assert client.get("/identity/").status_code == 300
