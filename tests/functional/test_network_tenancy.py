"""Networking's project rules (real PostgreSQL): nothing is made without a
project, a context without a project sees nothing that has none, and a
non-admin's subnet is at most [network] project_largest_subnet_prefixlen_v4
(admins make larger ones for a project). CIDRs: 10.161.0.0/16 - 10.163.0.0/16.

The project-less cases call nova_lite.network directly: the API's auth in
front of it may refuse such a request earlier; the rule holds below it."""
import uuid

import pytest
from sqlalchemy import text

from nova_lite.api.context import RequestContext
from nova_lite.network import scope

NET = "/network/v2.0"


def unscoped(admin=False):
    return RequestContext(request_id="req-test", user_id="u", project_id=None,
                          roles=("admin",) if admin else ("member", "reader"))


@pytest.fixture
def legacy(configured):
    """A network, subnet, port and floating IP with no project, as a
    project-less request could make before (written straight into the tables;
    security groups always had one: their column is NOT NULL)."""
    from nova_lite.db.session import transaction
    ids = {k: str(uuid.uuid4()) for k in ("network", "subnet", "port", "fip")}
    ids["external"] = str(uuid.uuid4())
    with transaction() as session:
        for key, external in (("network", False), ("external", True)):
            session.execute(text(
                "INSERT INTO networks (id, name, description, shared, external, is_default, "
                "bridge, mtu, admin_state_up, status, created_at) VALUES (:id, 'legacy', "
                "'', false, :ext, false, :bridge, 1500, true, 'ACTIVE', now())"),
                {"id": ids[key], "ext": external, "bridge": "nlbr-" + ids[key][:8]})
        session.execute(text(
            "INSERT INTO subnets (id, network_id, name, description, ip_version, cidr, "
            "enable_dhcp, allocation_pools, dns_nameservers, host_routes, created_at) "
            "VALUES (:id, :n, '', '', 4, '10.161.200.0/24', true, '[]', '[]', '[]', now())"),
            {"id": ids["subnet"], "n": ids["network"]})
        session.execute(text(
            "INSERT INTO ports (id, network_id, name, description, mac_address, device_id, "
            "device_owner, admin_state_up, status, port_security_enabled, "
            "preserve_on_delete, created_at) VALUES (:id, :n, '', '', 'fa:16:3e:ee:ee:01', "
            "'', '', true, 'DOWN', true, false, now())"), {"id": ids["port"], "n": ids["network"]})
        session.execute(text(
            "INSERT INTO floating_ips (id, floating_network_id, floating_port_id, "
            "floating_ip_address, status, description, created_at) VALUES (:id, :n, :p, "
            "'10.161.201.5', 'DOWN', '', now())"),
            {"id": ids["fip"], "n": ids["external"], "p": ids["port"]})
    yield ids
    with transaction() as session:
        session.execute(text("DELETE FROM floating_ips WHERE id = :id"), {"id": ids["fip"]})
        session.execute(text("DELETE FROM ports WHERE id = :id"), {"id": ids["port"]})
        session.execute(text("DELETE FROM networks WHERE id IN (:a, :b)"),
                        {"a": ids["network"], "b": ids["external"]})


def test_nothing_is_made_without_a_project(configured):
    from nova_lite.db.session import transaction
    from nova_lite.network import networks, ports, security_groups
    ctx = unscoped()
    makers = [
        lambda s: networks.create_network(s, ctx, name="no-project"),
        lambda s: security_groups.create_group(s, ctx, name="no-project"),
        lambda s: security_groups.ensure_default(s, None),
        lambda s: security_groups.resolve(s, None, ["default"]),
        lambda s: ports.create(s, type("Net", (), {"id": str(uuid.uuid4())})(), None),
    ]
    for make in makers:
        with pytest.raises(scope.ProjectRequired) as caught:
            with transaction() as session:
                make(session)
        assert caught.value.code == 400
        assert "project" in caught.value.message


def test_a_context_without_a_project_sees_nothing_without_one(configured, legacy):
    from nova_lite.api.network.ports import visible_ports
    from nova_lite.db.session import reader
    from nova_lite.network import exceptions, floating_ips, networks, security_groups
    ctx = unscoped()
    with reader() as session:
        def ids(query):
            return set(session.scalars(query.with_only_columns(
                query.selected_columns[0].table.c.id)).all())
        assert legacy["network"] not in ids(networks.visible_networks(ctx))
        assert legacy["subnet"] not in ids(networks.visible_subnets(ctx))
        assert legacy["port"] not in ids(visible_ports(ctx))
        assert not ids(security_groups.visible_groups(ctx))
        assert legacy["fip"] not in ids(floating_ips.visible(ctx))
        with pytest.raises(exceptions.NetworkNotFound):
            networks.get_network(session, ctx, legacy["network"])
        with pytest.raises(networks.PolicyNotAuthorized):
            networks.require_owner(ctx, None, "update_network")
        # Admins still see them (to clean them up).
        assert legacy["network"] in ids(networks.visible_networks(unscoped(admin=True)))


def test_a_member_subnet_is_at_most_a_22_and_an_admin_makes_larger_ones(
        client, admin_headers, demo_headers):
    def call(method, path, headers, body=None):
        return client.open(NET + path, method=method, json=body, headers=headers)

    network = call("POST", "/networks", demo_headers,
                   {"network": {"name": "tenancy-size"}}).json["network"]
    made = []
    try:
        refused = call("POST", "/subnets", demo_headers, {"subnet": {
            "network_id": network["id"], "cidr": "10.161.0.0/21", "ip_version": 4}})
        assert refused.status_code == 400
        error = refused.json["NeutronError"]
        assert error["type"] == "InvalidInput"
        assert "10.161.0.0/21 is larger than a non-admin project may create: at most " \
               "/22 (1,022 addresses)" in error["message"]
        assert "project_largest_subnet_prefixlen_v4" in error["message"]
        ok = call("POST", "/subnets", demo_headers, {"subnet": {
            "network_id": network["id"], "cidr": "10.161.8.0/22", "ip_version": 4}})
        assert ok.status_code == 201, ok.get_data(as_text=True)
        made.append(ok.json["subnet"]["id"])
        big = call("POST", "/subnets", admin_headers, {"subnet": {
            "network_id": network["id"], "cidr": "10.163.0.0/20", "ip_version": 4,
            "project_id": network["project_id"]}})
        assert big.status_code == 201, big.get_data(as_text=True)
        assert big.json["subnet"]["project_id"] == network["project_id"]
        made.append(big.json["subnet"]["id"])
        shown = call("GET", f"/subnets/{big.json['subnet']['id']}", demo_headers)
        assert shown.status_code == 200                      # the project's own
    finally:
        for subnet_id in made:
            call("DELETE", f"/subnets/{subnet_id}", admin_headers)
        call("DELETE", f"/networks/{network['id']}", admin_headers)


def test_the_limit_is_an_option(client, demo_headers, configured):
    from nova_lite.conf import CONF
    CONF.set_override("project_largest_subnet_prefixlen_v4", 24, group="network")
    try:
        network = client.post(f"{NET}/networks", headers=demo_headers,
                              json={"network": {"name": "tenancy-size-24"}}).json["network"]
        refused = client.post(f"{NET}/subnets", headers=demo_headers, json={"subnet": {
            "network_id": network["id"], "cidr": "10.162.0.0/23", "ip_version": 4}})
        assert refused.status_code == 400
        assert "at most /24 (254 addresses)" in refused.json["NeutronError"]["message"]
        client.delete(f"{NET}/networks/{network['id']}", headers=demo_headers)
    finally:
        CONF.clear_override("project_largest_subnet_prefixlen_v4", group="network")


def test_the_flood_has_the_admin_make_its_large_subnet_for_its_project(live_api):
    """tools/flood_http.ensure_network (what the flood prepares its network
    with) over real HTTP: the /16 is made by the admin for the demo project,
    found again by name on the next call."""
    from tests.fixtures.credentials import ADMIN_PASSWORD, DEMO_PASSWORD
    from tests.fixtures.tools import load_flood
    load_flood()                              # puts tools/ on sys.path
    import flood_http
    token, project = flood_http.login(live_api.url, "demo", DEMO_PASSWORD, "demo")
    admin_token, _ = flood_http.login(live_api.url, "admin", ADMIN_PASSWORD, "admin")
    cidr = "10.164.0.0/16"
    net = flood_http.ensure_network(live_api.url, token, project, cidr,
                                    admin_token=admin_token)
    from nova_lite.db.session import reader, transaction
    try:
        assert net["cidr"] == cidr and net["addresses"] == 65533
        with reader() as session:
            owners = session.execute(text(
                "SELECT n.project_id, s.project_id FROM networks n JOIN subnets s "
                "ON s.network_id = n.id WHERE n.id = :id"), {"id": net["network_id"]}).all()
        assert owners == [(project, project)]
        again = flood_http.ensure_network(live_api.url, token, project, cidr,
                                          admin_token=admin_token)
        assert (again["network_id"], again["subnet_id"]) == (net["network_id"],
                                                             net["subnet_id"])
    finally:
        with transaction() as session:
            session.execute(text("DELETE FROM networks WHERE id = :id"),
                            {"id": net["network_id"]})
