"""Identity administration through the API against the real PostgreSQL: users,
projects, roles, role assignments, domains, application credentials; what
revokes a token and that it holds at once; lockout; who may do what.

Every test works on users and projects of its own (tests.fixtures.identity),
never with a wrong password for the shared admin/demo."""
import concurrent.futures
import uuid

import pytest
from sqlalchemy import select, text

from nova_lite.conf import CONF
from tests.fixtures.credentials import ADMIN_PASSWORD, TOKENS, login, login_response
from tests.fixtures.identity import make_user, role_id

V3 = "/identity/v3"


def _ok(response, status=200):
    assert response.status_code == status, response.get_data(as_text=True)
    return response.json


def _forbidden_in_identity_format(response):
    assert response.status_code == 403, response.get_data(as_text=True)
    assert response.json["error"]["code"] == 403
    assert response.json["error"]["title"] == "Forbidden"


# -- users, projects, roles ----------------------------------------------------
def test_user_lifecycle_and_keystone_shapes(client, admin_headers):
    alice = make_user(client, admin_headers, prefix="life")
    shown = _ok(client.get(f"{V3}/users/{alice['id']}", headers=admin_headers))["user"]
    assert shown["name"] == alice["name"] and shown["enabled"] is True
    assert shown["domain_id"] == "default"
    assert shown["default_project_id"] == alice["project_id"]
    assert shown["links"]["self"].endswith(f"/identity/v3/users/{alice['id']}")
    assert "password" not in shown and "password_hash" not in shown
    listed = _ok(client.get(f"{V3}/users?name={alice['name']}", headers=admin_headers))
    assert [u["id"] for u in listed["users"]] == [alice["id"]]
    # The user reads itself and lists its projects; nothing of others.
    me = _ok(client.get(f"{V3}/users/{alice['id']}", headers=alice["headers"]))
    assert me["user"]["id"] == alice["id"]
    mine = _ok(client.get(f"{V3}/users/{alice['id']}/projects", headers=alice["headers"]))
    assert [p["id"] for p in mine["projects"]] == [alice["project_id"]]
    admin_id = _ok(client.get(f"{V3}/users?name=admin", headers=admin_headers))["users"][0]
    _forbidden_in_identity_format(client.get(f"{V3}/users/{admin_id['id']}",
                                             headers=alice["headers"]))
    # Rename, then delete: its token stops working at once, the name is free.
    renamed = _ok(client.patch(f"{V3}/users/{alice['id']}", headers=admin_headers,
                               json={"user": {"name": alice["name"] + "-x"}}))
    assert renamed["user"]["name"] == alice["name"] + "-x"
    assert client.delete(f"{V3}/users/{alice['id']}", headers=admin_headers) \
        .status_code == 204
    assert client.get(f"{V3}/auth/projects", headers=alice["headers"]).status_code == 401
    assert client.get(f"{V3}/users/{alice['id']}", headers=admin_headers).status_code == 404


def test_duplicate_user_name_is_409(client, admin_headers):
    alice = make_user(client, admin_headers, prefix="dup")
    again = client.post(f"{V3}/users", headers=admin_headers,
                        json={"user": {"name": alice["name"], "password": "x" * 12}})
    assert again.status_code == 409
    assert again.json["error"]["title"] == "Conflict"


def test_non_admins_administer_nothing(client, admin_headers, demo_headers):
    bob = make_user(client, admin_headers, prefix="nonadm")
    member_role = role_id(client, admin_headers, "member")
    for method, path, body in (
            ("post", f"{V3}/users", {"user": {"name": "x-" + uuid.uuid4().hex[:6]}}),
            ("patch", f"{V3}/users/{bob['id']}", {"user": {"enabled": False}}),
            ("delete", f"{V3}/users/{bob['id']}", None),
            ("get", f"{V3}/users", None),
            ("post", f"{V3}/projects", {"project": {"name": "x-" + uuid.uuid4().hex[:6]}}),
            ("patch", f"{V3}/projects/{bob['project_id']}", {"project": {"enabled": False}}),
            ("delete", f"{V3}/projects/{bob['project_id']}", None),
            ("post", f"{V3}/roles", {"role": {"name": "x-" + uuid.uuid4().hex[:6]}}),
            ("get", f"{V3}/roles", None),
            ("delete", f"{V3}/roles/{member_role}", None),
            ("put", f"{V3}/projects/{bob['project_id']}/users/{bob['id']}/roles/"
                    f"{role_id(client, admin_headers, 'admin')}", None),
            ("get", f"{V3}/role_assignments", None),
            ("post", f"{V3}/users/{bob['id']}/password",
             {"user": {"password": "n" * 12, "original_password": bob["password"]}}),
            ("get", f"{V3}/users/{bob['id']}/application_credentials", None)):
        kwargs = {"json": body} if body is not None else {}
        response = getattr(client, method)(path, headers=demo_headers, **kwargs)
        _forbidden_in_identity_format(response)
    # Nothing changed: bob still logs in with his project.
    assert login_response(client, bob["name"], bob["password"], bob["project"]).status_code == 201


def test_project_crud_and_disabling_revokes_its_tokens(client, admin_headers):
    carol = make_user(client, admin_headers, prefix="projdis")
    project = _ok(client.get(f"{V3}/projects/{carol['project_id']}",
                             headers=admin_headers))["project"]
    assert project["enabled"] is True and project["domain_id"] == "default"
    assert client.get("/compute/v2.1/servers", headers=carol["headers"]).status_code == 200
    patched = _ok(client.patch(f"{V3}/projects/{carol['project_id']}", headers=admin_headers,
                               json={"project": {"enabled": False, "description": "off"}}))
    assert patched["project"]["enabled"] is False
    assert patched["project"]["description"] == "off"
    assert client.get("/compute/v2.1/servers", headers=carol["headers"]).status_code == 401
    assert login_response(client, carol["name"], carol["password"], carol["project"]) \
        .status_code == 401
    disabled = _ok(client.get(f"{V3}/projects?enabled=false", headers=admin_headers))
    assert carol["project_id"] in {p["id"] for p in disabled["projects"]}
    _ok(client.patch(f"{V3}/projects/{carol['project_id']}", headers=admin_headers,
                     json={"project": {"enabled": True}}))
    fresh = login(client, carol["name"], carol["password"], carol["project"])
    assert client.delete(f"{V3}/projects/{carol['project_id']}", headers=admin_headers) \
        .status_code == 204
    assert client.get("/compute/v2.1/servers", headers=fresh).status_code == 401
    assert client.get(f"{V3}/projects/{carol['project_id']}", headers=admin_headers) \
        .status_code == 404


def test_roles_crud_builtin_roles_and_implied_roles(client, admin_headers):
    names = {r["name"] for r in _ok(client.get(f"{V3}/roles",
                                               headers=admin_headers))["roles"]}
    assert {"admin", "member", "reader", "service"} <= names
    name = "auditor-" + uuid.uuid4().hex[:6]
    role = _ok(client.post(f"{V3}/roles", headers=admin_headers,
                           json={"role": {"name": name}}), 201)["role"]
    assert role["domain_id"] is None and role["links"]["self"].endswith(role["id"])
    assert _ok(client.get(f"{V3}/roles/{role['id']}", headers=admin_headers))["role"][
        "name"] == name
    _ok(client.patch(f"{V3}/roles/{role['id']}", headers=admin_headers,
                     json={"role": {"description": "reads audits"}}))
    member = role_id(client, admin_headers, "member")
    assert client.patch(f"{V3}/roles/{member}", headers=admin_headers,
                        json={"role": {"name": "boss"}}).status_code == 403
    # A member's token carries member and the reader it implies.
    dave = make_user(client, admin_headers, prefix="implied")
    check = client.get(TOKENS, headers={**dave["headers"],
                                        "X-Subject-Token": dave["headers"]["X-Auth-Token"]})
    roles = {r["name"]: r["id"] for r in _ok(check)["token"]["roles"]}
    assert set(roles) == {"member", "reader"}
    assert roles["member"] == member
    assert client.delete(f"{V3}/roles/{role['id']}", headers=admin_headers).status_code == 204
    assert client.get(f"{V3}/roles/{role['id']}", headers=admin_headers).status_code == 404


def test_role_assignments_grant_check_list_and_removal_revokes(client, admin_headers):
    erin = make_user(client, admin_headers, prefix="assign")
    base = f"{V3}/projects/{erin['project_id']}/users/{erin['id']}/roles"
    reader_id = role_id(client, admin_headers, "reader")
    member_id = role_id(client, admin_headers, "member")
    assert client.head(f"{base}/{reader_id}", headers=admin_headers).status_code == 404
    assert client.put(f"{base}/{reader_id}", headers=admin_headers).status_code == 204
    assert client.put(f"{base}/{reader_id}", headers=admin_headers).status_code == 204
    assert client.head(f"{base}/{reader_id}", headers=admin_headers).status_code == 204
    assert {r["name"] for r in _ok(client.get(base, headers=admin_headers))["roles"]} == \
        {"member", "reader"}
    listed = _ok(client.get(f"{V3}/role_assignments?user.id={erin['id']}"
                            f"&scope.project.id={erin['project_id']}&include_names=1",
                            headers=admin_headers))["role_assignments"]
    assert {(a["role"]["name"], a["user"]["name"], a["scope"]["project"]["name"])
            for a in listed} == {("member", erin["name"], erin["project"]),
                                 ("reader", erin["name"], erin["project"])}
    by_role = _ok(client.get(f"{V3}/role_assignments?user.id={erin['id']}&role.id="
                             f"{member_id}", headers=admin_headers))["role_assignments"]
    assert [a["role"]["id"] for a in by_role] == [member_id]
    assert "name" not in by_role[0]["role"]
    # effective lists the implied roles too, with the role implying them.
    assert client.delete(f"{base}/{reader_id}", headers=admin_headers).status_code == 204
    effective = _ok(client.get(f"{V3}/role_assignments?user.id={erin['id']}&effective",
                               headers=admin_headers))["role_assignments"]
    assert {a["role"]["id"] for a in effective} == {member_id, reader_id}
    assert any("prior_role" in a["links"] for a in effective)
    # Removing the assignment revoked her token on the project, at once.
    assert client.get("/compute/v2.1/servers", headers=erin["headers"]).status_code == 401
    fresh = login(client, erin["name"], erin["password"], erin["project"])
    assert client.delete(f"{base}/{member_id}", headers=admin_headers).status_code == 204
    assert client.get("/compute/v2.1/servers", headers=fresh).status_code == 401
    assert login_response(client, erin["name"], erin["password"], erin["project"]).status_code == 401
    assert client.delete(f"{base}/{member_id}", headers=admin_headers).status_code == 404


def test_domains_are_the_default_one(client, demo_headers):
    domains = _ok(client.get(f"{V3}/domains", headers=demo_headers))["domains"]
    assert [(d["id"], d["name"], d["enabled"]) for d in domains] == \
        [("default", "Default", True)]
    assert _ok(client.get(f"{V3}/domains/default", headers=demo_headers))["domain"][
        "name"] == "Default"
    assert client.get(f"{V3}/domains/other", headers=demo_headers).status_code == 404


# -- what revokes tokens ---------------------------------------------------------
def test_logout_revokes_the_token_at_once(client, admin_headers):
    frank = make_user(client, admin_headers, prefix="logout")
    other = login(client, frank["name"], frank["password"], frank["project"])
    token = frank["headers"]["X-Auth-Token"]
    # Cached first, so the revocation has to beat the worker's token cache.
    assert client.get("/compute/v2.1/servers", headers=frank["headers"]).status_code == 200
    assert client.delete(TOKENS, headers={**frank["headers"],
                                          "X-Subject-Token": token}).status_code == 204
    assert client.get("/compute/v2.1/servers", headers=frank["headers"]).status_code == 401
    assert client.get(TOKENS, headers={**admin_headers, "X-Subject-Token": token}) \
        .status_code == 404
    # Only that token: the user's other one still works.
    assert client.get("/compute/v2.1/servers", headers=other).status_code == 200


def test_disabling_a_user_revokes_and_enabling_lets_it_back(client, admin_headers):
    gina = make_user(client, admin_headers, prefix="disable")
    assert client.get("/compute/v2.1/servers", headers=gina["headers"]).status_code == 200
    _ok(client.patch(f"{V3}/users/{gina['id']}", headers=admin_headers,
                     json={"user": {"enabled": False}}))
    assert client.get("/compute/v2.1/servers", headers=gina["headers"]).status_code == 401
    assert login_response(client, gina["name"], gina["password"], gina["project"]).status_code == 401
    _ok(client.patch(f"{V3}/users/{gina['id']}", headers=admin_headers,
                     json={"user": {"enabled": True}}))
    assert client.get("/compute/v2.1/servers", headers=gina["headers"]).status_code == 401
    fresh = login(client, gina["name"], gina["password"], gina["project"])
    assert client.get("/compute/v2.1/servers", headers=fresh).status_code == 200


def test_own_password_change_revokes_older_tokens(client, admin_headers):
    hank = make_user(client, admin_headers, prefix="passwd")
    url = f"{V3}/users/{hank['id']}/password"
    wrong = client.post(url, headers=hank["headers"], json={"user": {
        "password": "new-password-1", "original_password": "not-it"}})
    assert wrong.status_code == 401
    assert "not-it" not in wrong.get_data(as_text=True)
    done = client.post(url, headers=hank["headers"], json={"user": {
        "password": "new-password-1", "original_password": hank["password"]}})
    assert done.status_code == 204, done.get_data(as_text=True)
    assert client.get("/compute/v2.1/servers", headers=hank["headers"]).status_code == 401
    assert login_response(client, hank["name"], hank["password"], hank["project"]).status_code == 401
    fresh = login(client, hank["name"], "new-password-1", hank["project"])
    assert client.get("/compute/v2.1/servers", headers=fresh).status_code == 200
    # Someone else's password: not even an admin changes it this way.
    admin_id = _ok(client.get(f"{V3}/users?name=admin", headers=admin_headers))["users"][0]
    _forbidden_in_identity_format(client.post(
        f"{V3}/users/{admin_id['id']}/password", headers=fresh,
        json={"user": {"password": "x" * 12, "original_password": "y" * 12}}))


def test_a_password_in_a_bad_request_is_not_echoed(client, admin_headers):
    response = client.post(f"{V3}/users", headers=admin_headers, json={"user": {
        "name": "echo-" + uuid.uuid4().hex[:6], "password": ["s3cr3t-in-a-list"]}})
    assert response.status_code == 400
    assert "s3cr3t" not in response.get_data(as_text=True)


# -- token validation rule, unscoped tokens ----------------------------------------
def test_only_the_subject_an_admin_or_a_service_validates_a_token(client, admin_headers,
                                                                  demo_headers):
    ivy = make_user(client, admin_headers, prefix="validate")
    subject = {"X-Subject-Token": admin_headers["X-Auth-Token"]}
    _forbidden_in_identity_format(client.get(TOKENS, headers={**ivy["headers"], **subject}))
    assert client.head(TOKENS, headers={**ivy["headers"], **subject}).status_code == 403
    assert client.delete(TOKENS, headers={**ivy["headers"], **subject}).status_code == 403
    own = {"X-Subject-Token": ivy["headers"]["X-Auth-Token"]}
    assert _ok(client.get(TOKENS, headers={**ivy["headers"], **own}))["token"]["user"][
        "id"] == ivy["id"]
    assert client.get(TOKENS, headers={**admin_headers, **own}).status_code == 200
    svc = make_user(client, admin_headers, role="service", prefix="svc")
    assert client.get(TOKENS, headers={**svc["headers"], **own}).status_code == 200
    # And the admin's token kept working (the refused DELETE revoked nothing).
    assert client.get(f"{V3}/users", headers=admin_headers).status_code == 200


def test_unscoped_tokens_only_list_projects_read_self_and_rescope(client, admin_headers):
    jack = make_user(client, admin_headers, prefix="unscoped")
    unscoped = login(client, jack["name"], jack["password"], None, unscoped=True)
    body = _ok(client.get(TOKENS, headers={**unscoped,
                                           "X-Subject-Token": unscoped["X-Auth-Token"]}))
    assert "project" not in body["token"] and "roles" not in body["token"]
    projects = _ok(client.get(f"{V3}/auth/projects", headers=unscoped))["projects"]
    assert [p["id"] for p in projects] == [jack["project_id"]]
    assert client.get(f"{V3}/users/{jack['id']}/projects", headers=unscoped) \
        .status_code == 200
    assert client.get(f"{V3}/users/{jack['id']}", headers=unscoped).status_code == 200
    # Everything else: 403 on Identity, 401 on the other services.
    for path in (f"{V3}/projects", f"{V3}/domains", f"{V3}/users/{jack['id']}/"
                 "application_credentials"):
        _forbidden_in_identity_format(client.get(path, headers=unscoped))
    for path in ("/compute/v2.1/servers", "/compute/v2.1/flavors", "/image/v2/images",
                 "/network/v2.0/networks"):
        assert client.get(path, headers=unscoped).status_code == 401, path
    # The admin's unscoped token is no admin token.
    admin_unscoped = login(client, "admin", ADMIN_PASSWORD, None, unscoped=True)
    _forbidden_in_identity_format(client.get(f"{V3}/users", headers=admin_unscoped))
    # Rescope: token method plus a project.
    rescoped = client.post(TOKENS, json={"auth": {
        "identity": {"methods": ["token"], "token": {"id": unscoped["X-Auth-Token"]}},
        "scope": {"project": {"id": jack["project_id"]}}}})
    assert rescoped.status_code == 201
    assert client.get("/compute/v2.1/servers", headers={
        "X-Auth-Token": rescoped.headers["X-Subject-Token"]}).status_code == 200


# -- lockout, constant time --------------------------------------------------------
def _failures(user_id):
    from nova_lite.db import models
    from nova_lite.db.session import reader
    with reader() as session:
        return session.scalar(select(models.User.failed_auth_count)
                              .where(models.User.id == user_id))


def test_lockout_after_consecutive_failures_and_unlock(app, client, admin_headers):
    attempts = CONF.identity.lockout_failure_attempts
    assert attempts == 6                        # on by default
    kate = make_user(client, admin_headers, prefix="lockout")
    wrong = login_response(client, kate["name"], "wrong-password", kate["project"])
    assert _failures(kate["id"]) == 1
    # A success resets the count.
    assert login_response(client, kate["name"], kate["password"], kate["project"]).status_code == 201
    assert _failures(kate["id"]) == 0
    # Concurrent failures all count, and no more than the allowance is tried:
    # of twice as many concurrent guesses, exactly `attempts` were counted
    # (one client per thread).
    with concurrent.futures.ThreadPoolExecutor(attempts) as pool:
        codes = list(pool.map(lambda _: login_response(
            app.test_client(), kate["name"], "wrong-password", None).status_code,
            range(2 * attempts)))
    assert codes == [401] * (2 * attempts)
    assert _failures(kate["id"]) == attempts
    locked = login_response(client, kate["name"], kate["password"], kate["project"])
    assert locked.status_code == 401
    # No hint: the same answer as a wrong password.
    assert locked.json == wrong.json
    # The lockout lapses after lockout_duration (the last failure dated back).
    from nova_lite.db.session import transaction
    with transaction() as session:
        session.execute(text("UPDATE users SET failed_auth_at = now() - make_interval("
                             "secs => :s) WHERE id = :id"),
                        {"s": CONF.identity.lockout_duration + 1, "id": kate["id"]})
    assert login_response(client, kate["name"], kate["password"], kate["project"]).status_code == 201
    # An admin unlocks by enabling the user.
    for _ in range(attempts):
        login_response(client, kate["name"], "wrong-password", None)
    assert login_response(client, kate["name"], kate["password"], None).status_code == 401
    _ok(client.patch(f"{V3}/users/{kate['id']}", headers=admin_headers,
                     json={"user": {"enabled": True}}))
    assert login_response(client, kate["name"], kate["password"], kate["project"]).status_code == 201


def test_users_with_ignore_lockout_are_never_locked_out(client, admin_headers):
    svc = make_user(client, admin_headers, prefix="exempt")
    shown = _ok(client.patch(f"{V3}/users/{svc['id']}", headers=admin_headers, json={
        "user": {"options": {"ignore_lockout_failure_attempts": True}}}))["user"]
    assert shown["options"] == {"ignore_lockout_failure_attempts": True}
    for _ in range(CONF.identity.lockout_failure_attempts + 2):
        assert login_response(client, svc["name"], "wrong-password", None).status_code == 401
    assert _failures(svc["id"]) == 0
    assert login_response(client, svc["name"], svc["password"], svc["project"]).status_code == 201


def test_unknown_user_login_runs_the_same_password_hash(client, monkeypatch):
    from nova_lite.db import passwords
    calls = []
    real = passwords.check_password

    def spy(password, stored):
        calls.append(stored)
        return real(password, stored)
    monkeypatch.setattr(passwords, "check_password", spy)
    assert login_response(client, "nobody-" + uuid.uuid4().hex, "whatever",
                          None).status_code == 401
    assert login_response(client, "admin", ADMIN_PASSWORD, "admin").status_code == 201
    unknown, known = calls
    # The same verifier ran, on a real hash of the same algorithm and cost.
    assert unknown.split("$")[:4] == known.split("$")[:4] == \
        ["scrypt", str(passwords.N), str(passwords.R), str(passwords.P)]
    assert len(unknown) == len(known)


# -- application credentials --------------------------------------------------------
def _app_cred_login(client, **spec):
    return client.post(TOKENS, json={"auth": {"identity": {
        "methods": ["application_credential"], "application_credential": spec}}})


def test_application_credentials(client, admin_headers):
    lena = make_user(client, admin_headers, prefix="appcred")
    base = f"{V3}/users/{lena['id']}/application_credentials"
    created = _ok(client.post(base, headers=lena["headers"], json={
        "application_credential": {"name": "ci", "roles": [{"name": "reader"}]}}), 201)
    cred = created["application_credential"]
    secret = cred["secret"]
    assert secret and [r["name"] for r in cred["roles"]] == ["reader"]
    assert cred["project_id"] == lena["project_id"]
    # The secret is shown once and kept as a hash.
    listed = _ok(client.get(base, headers=lena["headers"]))["application_credentials"]
    assert [c["id"] for c in listed] == [cred["id"]] and "secret" not in listed[0]
    assert "secret" not in _ok(client.get(f"{base}/{cred['id']}", headers=lena["headers"]))[
        "application_credential"]
    from nova_lite.db import models
    from nova_lite.db.session import reader
    with reader() as session:
        stored = session.get(models.ApplicationCredential, cred["id"]).secret_hash
    assert secret not in stored and stored.startswith("scrypt$")
    # A login by id, and by name + user: its project, its roles.
    by_id = _app_cred_login(client, id=cred["id"], secret=secret)
    assert by_id.status_code == 201, by_id.get_data(as_text=True)
    token = by_id.json["token"]
    assert token["project"]["id"] == lena["project_id"]
    assert {r["name"] for r in token["roles"]} == {"reader"}
    assert token["methods"] == ["application_credential"]
    assert token["application_credential"]["id"] == cred["id"]
    by_name = _app_cred_login(client, name="ci", secret=secret,
                              user={"name": lena["name"], "domain": {"id": "default"}})
    assert by_name.status_code == 201
    assert _app_cred_login(client, id=cred["id"], secret="wrong").status_code == 401
    # A scope may name its own project only.
    scoped = {"auth": {"identity": {"methods": ["application_credential"],
                                    "application_credential": {"id": cred["id"],
                                                               "secret": secret}}}}
    scoped["auth"]["scope"] = {"project": {"id": lena["project_id"]}}
    assert client.post(TOKENS, json=scoped).status_code == 201
    scoped["auth"]["scope"] = {"project": {"name": "admin"}}
    assert client.post(TOKENS, json=scoped).status_code == 401
    app_headers = {"X-Auth-Token": by_id.headers["X-Subject-Token"]}
    checked = client.get(TOKENS, headers={**app_headers, "X-Subject-Token":
                                          app_headers["X-Auth-Token"]})
    assert _ok(checked)["token"]["application_credential"] == {
        "id": cred["id"], "name": "ci", "restricted": True}
    assert client.get("/compute/v2.1/servers", headers=app_headers).status_code == 200
    # Its token cannot make more credentials.
    _forbidden_in_identity_format(client.post(base, headers=app_headers, json={
        "application_credential": {"name": "more"}}))
    # Only roles the creator has; no one else's credentials.
    _forbidden_in_identity_format(client.post(base, headers=lena["headers"], json={
        "application_credential": {"name": "grab", "roles": [{"name": "admin"}]}}))
    _forbidden_in_identity_format(client.get(base, headers=admin_headers))
    # Expired credentials do not log in.
    expired = _ok(client.post(base, headers=lena["headers"], json={
        "application_credential": {"name": "soon", "expires_at": "2099-01-01T00:00:00"}}),
        201)["application_credential"]
    assert expired["expires_at"].startswith("2099-01-01T00:00:00")
    from nova_lite.db.session import transaction
    with transaction() as session:
        session.execute(text("UPDATE application_credentials SET expires_at = now() - "
                             "interval '1 second' WHERE id = :id"), {"id": expired["id"]})
    assert _app_cred_login(client, id=expired["id"], secret=expired["secret"]) \
        .status_code == 401
    # Deleting it revokes its tokens at once.
    assert client.delete(f"{base}/{cred['id']}", headers=lena["headers"]).status_code == 204
    assert client.get("/compute/v2.1/servers", headers=app_headers).status_code == 401
    assert _app_cred_login(client, id=cred["id"], secret=secret).status_code == 401
    # The user's own password token was not touched.
    assert client.get("/compute/v2.1/servers", headers=lena["headers"]).status_code == 200


# -- revocation across processes ------------------------------------------------------
LISTENERS = ("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE "
             "application_name = 'nova-lite-revocations' AND datname = current_database()")


def test_revocation_list_falls_back_to_the_table_without_its_listener(postgres,
                                                                       configured):
    """A list whose listener connection is gone (and stays gone) still sees
    a new event: each check queries the table then."""
    from nova_lite.db import revocations
    from nova_lite.db.session import transaction
    from tests.fixtures.waiting import until
    listing = revocations.RevocationList(reconnect_delay=3600).start()   # stays down
    try:
        assert until(lambda: listing.listening)
        with transaction() as session:
            assert session.execute(text(LISTENERS)).scalars().all()
        claims = {"user_id": "u-" + uuid.uuid4().hex, "project_id": None,
                  "audit_id": uuid.uuid4().hex[:22],
                  "issued_at": revocations.models.utcnow().isoformat()}
        assert listing.is_revoked(claims) is False
        assert listing.listening is False
        with transaction() as session:
            revocations.record(session, audit_id=claims["audit_id"])
        assert listing.is_revoked(claims) is True
    finally:
        listing.stop()


def test_lapsed_revocation_events_are_pruned(configured):
    from nova_lite.db import models, revocations
    from nova_lite.db.session import transaction
    old_user, new_user = "u-" + uuid.uuid4().hex, "u-" + uuid.uuid4().hex
    with transaction() as session:
        revocations.record(session, user_id=old_user)
        revocations.record(session, user_id=new_user)
        session.execute(text("UPDATE revocation_events SET created_at = now() - "
                             "make_interval(secs => :s) WHERE user_id = :u"),
                        {"s": CONF.identity.token_expiration + 120, "u": old_user})
    with transaction() as session:
        assert revocations.prune(session) >= 1
    with transaction() as session:
        left = set(session.scalars(select(models.RevocationEvent.user_id).where(
            models.RevocationEvent.user_id.in_([old_user, new_user]))))
    assert left == {new_user}


@pytest.fixture(scope="module")
def second_api(configured, postgres, rabbit, state_dir):
    """nova-lite-api under gunicorn (2 workers) on the in-process app's
    database: another process, with token caches and listeners of its own."""
    from tests.fixtures import ports
    from tests.fixtures.services import Cloud
    api = Cloud(postgres, rabbit, state_dir, configured.identity.fernet_key_file,
                name="identity-api", api_workers=2, vhost="inproc")
    api.write_config()
    api.start_service("api")
    ports.wait_for_port("127.0.0.1", api.port, 60, api.procs["api"])
    yield api
    api.stop()


def _statuses(url, headers, count=6):
    import httpx
    with httpx.Client(base_url=url, timeout=30) as http:
        return {http.get("/compute/v2.1/servers", headers=headers).status_code
                for _ in range(count)}


def test_revocation_holds_at_once_in_another_api_process(client, admin_headers,
                                                         second_api):
    mona = make_user(client, admin_headers, prefix="xproc")
    assert _statuses(second_api.url, mona["headers"]) == {200}     # cached in both workers
    assert client.delete(TOKENS, headers={
        **mona["headers"], "X-Subject-Token": mona["headers"]["X-Auth-Token"]}) \
        .status_code == 204
    assert _statuses(second_api.url, mona["headers"]) == {401}
    # The other way round: disabled through the other process.
    fresh = login(client, mona["name"], mona["password"], mona["project"])
    assert client.get("/compute/v2.1/servers", headers=fresh).status_code == 200
    import httpx
    disabled = httpx.patch(f"{second_api.url}{V3}/users/{mona['id']}", headers=admin_headers,
                           json={"user": {"enabled": False}}, timeout=30)
    assert disabled.status_code == 200, disabled.text
    assert client.get("/compute/v2.1/servers", headers=fresh).status_code == 401


def test_revocation_holds_with_the_listeners_terminated(client, admin_headers, second_api):
    nick = make_user(client, admin_headers, prefix="nolisten")
    assert _statuses(second_api.url, nick["headers"]) == {200}
    from nova_lite.db.session import transaction
    with transaction() as session:
        assert session.execute(text(LISTENERS)).scalars().all()
    assert client.delete(TOKENS, headers={
        **nick["headers"], "X-Subject-Token": nick["headers"]["X-Auth-Token"]}) \
        .status_code == 204
    assert _statuses(second_api.url, nick["headers"]) == {401}


# -- the openstack CLI (the running cloud: shared and costly, so one test) ----------
def test_openstack_cli_administers_identity(cloud):
    import httpx

    from tests.fixtures.osc import Osc
    auth_url = cloud.url + "/identity/v3"
    admin = Osc(auth_url, "admin", ADMIN_PASSWORD, "admin")
    tag = uuid.uuid4().hex[:6]
    project, name = f"cli-proj-{tag}", f"cli-user-{tag}"
    admin("project", "create", "--domain", "default", "--description", "cli", project)
    user = admin("user", "create", "--domain", "default", "--password", "pw-one-1234",
                 "--project", project, name, "-f", "json")
    assert user["name"] == name and user["enabled"] is True
    admin("role", "add", "--user", name, "--project", project, "member")
    assigned = admin("role", "assignment", "list", "--user", name, "--project", project,
                     "--names", "-f", "json")
    assert [(a["Role"], a["User"], a["Project"]) for a in assigned] == \
        [("member", f"{name}@Default", f"{project}@Default")]
    # The user: a token, its logout, an application credential and a login with it.
    me = Osc(auth_url, name, "pw-one-1234", project)
    token = me.token()
    me("token", "revoke", token)
    assert httpx.get(f"{cloud.url}/compute/v2.1/servers",
                     headers={"X-Auth-Token": token}).status_code == 401
    cred = me("application", "credential", "create", "ci", "-f", "json")
    assert cred["Secret"] and {r["name"] for r in cred["Roles"]} == {"member", "reader"}
    app = Osc(auth_url, name, "unused", project)
    for unset in ("OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME", "OS_PROJECT_DOMAIN_NAME",
                  "OS_USER_DOMAIN_NAME"):
        app.env.pop(unset)
    app.env.update({"OS_AUTH_TYPE": "v3applicationcredential",
                    "OS_APPLICATION_CREDENTIAL_ID": cred["ID"],
                    "OS_APPLICATION_CREDENTIAL_SECRET": cred["Secret"]})
    assert app("token", "issue", "-f", "json")["project_id"] == cred["Project ID"]
    assert [c["Name"] for c in me("application", "credential", "list", "-f", "json")] == \
        ["ci"]
    me("application", "credential", "delete", "ci")
    me("user", "password", "set", "--password", "pw-two-1234", "--original-password",
       "pw-one-1234")
    Osc(auth_url, name, "pw-two-1234", project).token()
    # Back to the admin: roles, disabling, listing, deleting.
    admin("role", "create", f"cli-role-{tag}")
    assert f"cli-role-{tag}" in {r["Name"] for r in admin("role", "list", "-f", "json")}
    admin("role", "remove", "--user", name, "--project", project, "member")
    admin("user", "set", "--disable", name)
    users = {u["Name"]: u for u in admin("user", "list", "--long", "-f", "json")}
    assert users[name]["Enabled"] is False
    admin("project", "set", "--disable", project)
    projects = {p["Name"]: p for p in admin("project", "list", "--long", "-f", "json")}
    assert projects[project]["Enabled"] is False
    admin("user", "delete", name)
    admin("project", "delete", project)
    admin("role", "delete", f"cli-role-{tag}")
    assert name not in {u["Name"] for u in admin("user", "list", "-f", "json")}


def test_bootstrap_makes_the_builtin_roles_and_stays_idempotent(postgres, configured,
                                                                tmp_path):
    """nova-lite-manage bootstrap on a new database: "changed" once, then
    "unchanged"; the built-in roles exist and the service user has the
    service role (it may validate tokens)."""
    import subprocess

    import sqlalchemy as sa

    from tests.fixtures.services import script
    name = f"boot_{uuid.uuid4().hex[:8]}"
    postgres.create_database(name)
    conf = tmp_path / "nova-lite.conf"
    conf.write_text(f"[database]\nconnection = {postgres.url(name)}\n")
    manage = [script("nova-lite-manage"), "--config-file", str(conf)]
    subprocess.run(manage + ["db", "sync"], check=True, capture_output=True)
    boot = manage + ["bootstrap", "--admin-password", "a" * 12, "--demo-password", "d" * 12,
                     "--service-password", "s" * 12]
    outputs = [subprocess.run(boot, check=True, capture_output=True, text=True).stdout
               for _ in range(2)]
    assert outputs[0].startswith("changed") and outputs[1].startswith("unchanged"), outputs
    engine = sa.create_engine(postgres.url(name))
    try:
        with engine.connect() as conn:
            assert {"admin", "member", "reader", "service"} <= set(conn.execute(sa.text(
                "SELECT name FROM roles")).scalars())
            service_roles = set(conn.execute(sa.text(
                "SELECT r.name FROM role_assignments a JOIN roles r ON r.id = a.role_id "
                "JOIN users u ON u.id = a.user_id WHERE u.name = 'nova-lite'")).scalars())
            assert service_roles == {"admin", "service"}
            assert conn.execute(sa.text("SELECT name FROM users WHERE ignore_lockout"))\
                .scalars().all() == ["nova-lite"]
    finally:
        engine.dispose()
