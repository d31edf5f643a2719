"""The policy rules in code and the route map: every route of the app checks
exactly one named rule (or is public, or checks its rule in its handler), and
the personas say what they promise for every token kind, with or without
Keystone's implied roles."""
import pytest
from oslo_policy import policy as oslo_policy

from nova_lite.api import policies, policy
from nova_lite.api.compute import server_actions
from nova_lite.api.policies import base, compute, identity, image, network

PROJECT_APIS = [r for r in compute.rules + image.rules + network.rules
                if isinstance(r, oslo_policy.DocumentedRuleDefault)]


@pytest.fixture(scope="module", autouse=True)
def defaults_only(tmp_path_factory):
    """CONF parsed (as every service does) with a policy file that is not
    there: the defaults in code."""
    from nova_lite import conf
    from nova_lite.conf import CONF

    conf.parse_args([], default_config_files=[])
    CONF.set_override("policy_file", str(tmp_path_factory.mktemp("policy") / "none.yaml"),
                      group="oslo_policy")
    policy.reset()
    yield
    CONF.clear_override("policy_file", group="oslo_policy")
    policy.reset()


@pytest.fixture(scope="module")
def app():
    from nova_lite.api.app import create_app
    return create_app(start_relay=False)


def _rules():
    return {r.name: r for r in policies.list_rules()}


def test_every_route_has_a_rule_or_is_public_or_checked_in_its_handler(app):
    assert policy.unguarded(app) == [], (
        "routes with no policy rule (add one to nova_lite/api/policies with the "
        "route in its operations, or mark the view @policy.checked_in_handler): "
        + ", ".join(policy.unguarded(app)))


def test_the_map_names_existing_rules_and_handlers_name_theirs(app):
    rules = _rules()
    table = policy.route_rules(app)
    named = {entry for entry in table.values()
             if entry not in (policy.PUBLIC, policy.IN_HANDLER, None)}
    assert named <= set(rules)
    for endpoint, view in app.view_functions.items():
        for name in getattr(view, policy.HANDLER_ATTR, ()):
            assert name in rules, f"{endpoint} checks unknown rule {name}"


def test_map_examples(app):
    table = policy.route_rules(app)
    assert table[("compute.create_server", "POST")] == "os_compute_api:servers:create"
    assert table[("compute.servers", "GET")] == "os_compute_api:servers:index"
    assert table[("compute.create_flavor", "POST")] == "os_compute_api:os-flavor-manage:create"
    assert table[("compute.images_detail", "GET")] == "get_images"
    assert table[("image.list_images", "GET")] == "get_images"
    assert table[("network.create_port", "POST")] == "create_port"
    assert table[("network.network", "GET")] == "get_network"
    assert table[("identity.list_users", "GET")] == "identity:list_users"
    assert table[("compute.server_action", "POST")] is policy.IN_HANDLER
    assert table[("compute.keypairs", "GET")] is policy.IN_HANDLER
    assert table[("identity.issue_token", "POST")] is policy.PUBLIC
    assert table[("compute.versions", "GET")] is policy.PUBLIC


def test_a_route_without_a_rule_fails_closed(app):
    import flask

    scratch = flask.Flask("scratch", static_folder=None)
    scratch.add_url_rule("/compute/v2.1/os-nothing", "nothing", lambda: "")
    assert policy.route_rules(scratch)[("nothing", "GET")] is None
    assert policy.unguarded(scratch) == ["GET /compute/v2.1/os-nothing",
                                         "HEAD /compute/v2.1/os-nothing"]


def test_every_server_action_has_its_nova_rule():
    actions = set(server_actions.SIMPLE) | set(server_actions.HANDLERS)
    assert set(server_actions.RULES) == actions
    rules = _rules()
    for name in server_actions.RULES.values():
        ops = rules[name].operations
        assert {"method": "POST", "path": "/servers/{server_id}/action"} in ops


def test_rule_names_are_unique_and_documented():
    names = [r.name for r in policies.list_rules()]
    assert len(names) == len(set(names))
    for rule in compute.rules + image.rules + identity.rules + network.rules:
        assert rule.description, rule.name
        if isinstance(rule, oslo_policy.DocumentedRuleDefault):
            assert rule.operations, rule.name
        else:                   # the helper rules other rules reference
            assert rule.name in ("admin_required", "token_subject", "service_role",
                                 "network_owner")
    assert base.REFINING <= set(names)


@pytest.mark.parametrize("path, expected", [
    ("/compute/v2.1/servers/<server_id>", "/servers/{}"),
    ("/servers/{server_id}", "/servers/{}"),
    ("/network/v2.0/ports/<port_id>", "/ports/{}"),
    ("/identity/v3/users/<user_id>", "/users/{}"),
    ("/image/v2/images/<image_id>/file", "/images/{}/file"),
    ("/compute/v2.1", "/"),
])
def test_normalize(path, expected):
    assert policy.normalize(path) == expected


# -- personas ----------------------------------------------------------------------------
class Ctx:
    def __init__(self, roles, project_id="p1", user_id="u1"):
        self.roles, self.project_id, self.user_id = tuple(roles), project_id, user_id


UNSCOPED = Ctx((), project_id=None)
READER = Ctx(("reader",))
MEMBER_IMPLIED = Ctx(("member", "reader"))
MEMBER_ALONE = Ctx(("member",))             # a token without implied roles
ADMIN_ALONE = Ctx(("admin",))


@pytest.mark.parametrize("rule", [r.name for r in PROJECT_APIS])
def test_unscoped_tokens_get_no_compute_image_or_network_rule(rule):
    assert not policy.check_for(UNSCOPED, rule)
    # Nor a project-scoped token that somehow has no role.
    assert not policy.check_for(Ctx(()), rule)


@pytest.mark.parametrize("rule", [r.name for r in PROJECT_APIS])
def test_admin_role_alone_passes_every_project_rule(rule):
    target = {"network:project_id": "another"}
    assert policy.check_for(ADMIN_ALONE, rule, target)


@pytest.mark.parametrize("ctx", [MEMBER_IMPLIED, MEMBER_ALONE], ids=["implied", "alone"])
def test_member_with_or_without_implied_roles(ctx):
    assert policy.check_for(ctx, "os_compute_api:servers:create")
    assert policy.check_for(ctx, "os_compute_api:servers:index")
    assert policy.check_for(ctx, "get_image")
    assert policy.check_for(ctx, "create_network")
    assert not policy.check_for(ctx, "os_compute_api:servers:index:get_all_tenants")
    assert not policy.check_for(ctx, "os_compute_api:os-flavor-manage:create")
    assert not policy.check_for(ctx, "create_network:shared")
    assert not policy.check_for(ctx, "publicize_image")
    assert not policy.check_for(ctx, "context_is_admin")


def test_reader_reads_but_does_not_change():
    assert policy.check_for(READER, "os_compute_api:servers:show")
    assert policy.check_for(READER, "get_network")
    assert not policy.check_for(READER, "os_compute_api:servers:create")
    assert not policy.check_for(READER, "os_compute_api:servers:reboot")
    assert not policy.check_for(READER, "create_port")


def test_a_project_role_is_for_its_own_project_only():
    assert not policy.check_for(MEMBER_IMPLIED, "os_compute_api:servers:create",
                                {"project_id": "p2"})


def test_fixed_ip_needs_the_network_owner_or_admin():
    rule = "create_port:fixed_ips:ip_address"
    assert policy.check_for(MEMBER_ALONE, rule, {"network:project_id": "p1"})
    assert not policy.check_for(MEMBER_ALONE, rule, {"network:project_id": "p2"})
    assert not policy.check_for(READER, rule, {"network:project_id": "p1"})


def test_keypairs_are_their_users():
    rule = "os_compute_api:os-keypairs:index"
    assert policy.check_for(MEMBER_IMPLIED, rule)
    assert not policy.check_for(MEMBER_IMPLIED, rule, {"user_id": "u2"})
    assert policy.check_for(ADMIN_ALONE, rule, {"user_id": "u2"})
    assert not policy.check_for(UNSCOPED, "os_compute_api:os-keypairs:create")


def test_identity_self_service():
    assert policy.check_for(UNSCOPED, "identity:validate_token",
                            {"target.token.user_id": "u1"})
    assert not policy.check_for(READER, "identity:validate_token",
                                {"target.token.user_id": "u2"})
    assert policy.check_for(READER, "identity:get_user", {"target.user.id": "u1"})
    assert not policy.check_for(READER, "identity:get_user", {"target.user.id": "u2"})
    assert not policy.check_for(MEMBER_IMPLIED, "identity:list_users")
    assert policy.check_for(ADMIN_ALONE, "identity:list_users")


def test_an_unknown_rule_is_denied():
    assert not policy.check_for(ADMIN_ALONE, "os_compute_api:no-such-rule")


def test_the_middleware_refuses_a_route_without_a_rule_and_logs_it(caplog):
    import flask

    from nova_lite.api.middleware import errors
    from nova_lite.api.middleware import policy as policy_middleware

    scratch = flask.Flask("scratch", static_folder=None)
    errors.install(scratch)
    scratch.add_url_rule("/compute/v2.1/os-nothing", "nothing", lambda: "reached")
    policy_middleware.install(scratch)
    with caplog.at_level("ERROR", logger="nova_lite.api.middleware.policy"):
        response = scratch.test_client().get("/compute/v2.1/os-nothing")
    assert response.status_code == 403
    assert response.json == {"forbidden": {"code": 403, "message": "No policy rule allows "
                                           "GET /compute/v2.1/os-nothing."}}
    assert "no policy rule for GET /compute/v2.1/os-nothing" in caplog.text


def test_a_changed_policy_file_applies_and_a_broken_one_keeps_the_rules(tmp_path):
    from nova_lite.conf import CONF

    path = tmp_path / "policy.yaml"
    before = CONF.oslo_policy.policy_file
    CONF.set_override("policy_file", str(path), group="oslo_policy")
    policy.reset()
    rule = "os_compute_api:os-keypairs:create"
    try:
        assert policy.check_for(MEMBER_IMPLIED, rule)
        path.write_text(f'"{rule}": "rule:admin_api"\n')
        assert not policy.check_for(MEMBER_IMPLIED, rule)
        path.write_text(f'"{rule}": [unclosed\n')            # not YAML
        assert not policy.check_for(MEMBER_IMPLIED, rule)
        path.unlink()
        assert policy.check_for(MEMBER_IMPLIED, rule)
    finally:
        CONF.set_override("policy_file", before, group="oslo_policy")
        policy.reset()
