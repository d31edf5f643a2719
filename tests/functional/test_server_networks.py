"""Servers and their networks through the Compute API: ``networks`` on create
(uuid, fixed_ip, port, auto, none), ``addresses`` in the server body,
addresses held exactly while the server lives and freed on delete and on a
failed build, and a whole request refused (nothing written) when a network
has no room. Real services (fake virt driver), real PostgreSQL."""
import ipaddress
import uuid

import pytest
from sqlalchemy import text

from tests.fixtures import networks, quotas
from tests.fixtures.cloud import CloudClient, server_status
from tests.fixtures.credentials import DEMO_PASSWORD
from tests.fixtures.waiting import wait_for

PROJECT = "nettest"


@pytest.fixture(scope="module")
def net_client(cloud):
    """A client in a project of its own, so its networks don't change what
    'auto' means for the other tests' projects."""
    cloud.manage("user", "create", "nettest-user", "--password", DEMO_PASSWORD,
                 "--project", PROJECT, "--role", "member")
    with cloud.session() as session:        # a huge flavor's server must pass its quota
        quotas.unlimit(session, [PROJECT])
    return CloudClient(cloud.url, "nettest-user", DEMO_PASSWORD, PROJECT)


def make_network(cloud, project_id, cidr, name=None, shared=False, external=False):
    """A network and its subnet in the cloud's database; (network_id, subnet_id)."""
    return networks.make_network(cloud.session, project_id, cidr, name=name, shared=shared,
                                 external=external)


def drop_network(cloud, network_id):
    with cloud.session() as session:
        session.execute(text("DELETE FROM networks WHERE id = :id"), {"id": network_id})


def used(cloud, subnet_id):
    from nova_lite.network import ipam
    with cloud.session() as session:
        return ipam.usage(session, subnet_id)[0]


def project_id(client):
    return client.http.get("/identity/v3/auth/tokens", headers={
        "X-Subject-Token": client.token}).json()["token"]["project"]["id"]


def boot(client, image, name, expect=202, **extra):
    response = client.compute("POST", "/servers", json={"server": {
        "name": name, "imageRef": image, "flavorRef": "1", **extra}})
    assert response.status_code == expect, response.text
    return response


def wait_status(client, server_id, wanted, timeout=60):
    return wait_for(lambda: server_status(client, server_id),
                    lambda s: s[0] in (wanted, "ERROR"), timeout)[1]


def delete_and_wait(client, server_id):
    assert client.compute("DELETE", f"/servers/{server_id}").status_code == 204
    wait_for(lambda: server_status(client, server_id)[0], lambda s: s == "GONE", 60)


@pytest.fixture
def network(cloud, net_client):
    network_id, subnet_id = make_network(cloud, project_id(net_client), "10.66.0.0/24",
                                         name="private")
    yield network_id, subnet_id
    drop_network(cloud, network_id)


def test_server_gets_an_address_shown_in_addresses_and_freed_on_delete(
        cloud, net_client, cloud_image, network):
    network_id, subnet_id = network
    server_id = boot(net_client, cloud_image, "n1",
                     networks=[{"uuid": network_id}]).json()["server"]["id"]
    server = wait_status(net_client, server_id, "ACTIVE")
    (entry,) = server["addresses"]["private"]
    assert entry["version"] == 4 and entry["OS-EXT-IPS:type"] == "fixed"
    assert ipaddress.ip_address(entry["addr"]) in ipaddress.ip_network("10.66.0.0/24")
    assert entry["addr"] != "10.66.0.1"                         # the gateway
    assert entry["OS-EXT-IPS-MAC:mac_addr"].startswith("fa:16:3e:")
    assert server["security_groups"] == [{"name": "default"}]
    assert used(cloud, subnet_id) == 1
    detail = net_client.compute("GET", "/servers/detail").json()["servers"]
    assert [s["addresses"] for s in detail if s["id"] == server_id] == [server["addresses"]]
    delete_and_wait(net_client, server_id)
    assert used(cloud, subnet_id) == 0


def test_auto_and_absent_pick_the_projects_network_and_none_gives_no_nic(
        cloud, net_client, cloud_image, network):
    auto = boot(net_client, cloud_image, "auto", networks="auto").json()["server"]["id"]
    absent = boot(net_client, cloud_image, "absent").json()["server"]["id"]
    none = boot(net_client, cloud_image, "none", networks="none").json()["server"]["id"]
    assert list(wait_status(net_client, auto, "ACTIVE")["addresses"]) == ["private"]
    assert list(wait_status(net_client, absent, "ACTIVE")["addresses"]) == ["private"]
    assert wait_status(net_client, none, "ACTIVE")["addresses"] == {}
    assert used(cloud, network[1]) == 2
    for server_id in (auto, absent, none):
        delete_and_wait(net_client, server_id)
    assert used(cloud, network[1]) == 0


def test_fixed_ip_is_honoured_and_a_taken_one_refused_with_nothing_written(
        net_client, cloud_image, network):
    network_id, subnet_id = network
    first = boot(net_client, cloud_image, "fixed", networks=[
        {"uuid": network_id, "fixed_ip": "10.66.0.77"}]).json()["server"]["id"]
    server = wait_status(net_client, first, "ACTIVE")
    assert server["addresses"]["private"][0]["addr"] == "10.66.0.77"
    before = net_client.compute("GET", "/servers").json()["servers"]
    taken = boot(net_client, cloud_image, "again", expect=409, networks=[
        {"uuid": network_id, "fixed_ip": "10.66.0.77"}])
    assert "10.66.0.77" in taken.json()["conflictingRequest"]["message"]
    outside = boot(net_client, cloud_image, "outside", expect=400, networks=[
        {"uuid": network_id, "fixed_ip": "10.99.0.5"}])
    assert "not a valid IP" in outside.json()["badRequest"]["message"]
    assert net_client.compute("GET", "/servers").json()["servers"] == before
    delete_and_wait(net_client, first)


def test_exhausted_network_refuses_the_whole_request(cloud, net_client, cloud_image):
    network_id, subnet_id = make_network(cloud, project_id(net_client), "10.67.0.0/29",
                                         name="tiny")      # 5 usable addresses
    try:
        before = net_client.compute("GET", "/servers").json()["servers"]
        refused = boot(net_client, cloud_image, "many", expect=409,
                       networks=[{"uuid": network_id}], min_count=6, max_count=6)
        assert "No more IP addresses available on network tiny" in \
            refused.json()["conflictingRequest"]["message"]
        assert net_client.compute("GET", "/servers").json()["servers"] == before
        assert used(cloud, subnet_id) == 0
        boot(net_client, cloud_image, "five", networks=[{"uuid": network_id}],
             min_count=5, max_count=5)
        servers = [s for s in net_client.compute("GET", "/servers/detail").json()["servers"]
                   if s["name"].startswith("five-")]
        addresses = {s["addresses"]["tiny"][0]["addr"] for s in servers}
        assert len(servers) == 5 and len(addresses) == 5
        assert used(cloud, subnet_id) == 5
        for server in servers:
            delete_and_wait(net_client, server["id"])
        assert used(cloud, subnet_id) == 0
    finally:
        drop_network(cloud, network_id)


@pytest.mark.parametrize("how", ["no valid host", "spawn error"])
def test_failed_build_frees_its_address(net_client, cloud, cloud_image, network, how):
    network_id, subnet_id = network
    extra = {"metadata": {"fake_spawn_error": "disk exploded"}}
    if how == "no valid host":
        cloud.manage("flavor", "create", "net.huge", "--id", "net-huge", "--vcpus", "1",
                     "--ram", str(10 ** 7), "--disk", "1")
        extra = {"flavorRef": "net-huge"}
    server_id = boot(net_client, cloud_image, "doomed", networks=[{"uuid": network_id}],
                     **extra).json()["server"]["id"]
    server = wait_for(lambda: server_status(net_client, server_id)[1],
                      lambda s: s["status"] in ("ACTIVE", "ERROR"), 60)
    assert server["status"] == "ERROR"
    assert server["addresses"] == {}
    assert used(cloud, subnet_id) == 0
    delete_and_wait(net_client, server_id)


def test_a_users_port_is_bound_then_kept_unbound_after_delete(cloud, net_client,
                                                              cloud_image, network):
    from nova_lite.db import models
    from nova_lite.network import ports
    network_id, subnet_id = network
    with cloud.session() as session:
        port = ports.create(session, session.get(models.Network, network_id),
                            project_id(net_client), name="mine")
        port_id = port.id
    server_id = boot(net_client, cloud_image, "withport",
                     networks=[{"port": port_id}]).json()["server"]["id"]
    wait_status(net_client, server_id, "ACTIVE")
    with cloud.session() as session:
        bound = session.get(models.Port, port_id)
        assert (bound.device_id, bound.status, bound.binding_host_id is not None) == \
            (server_id, "ACTIVE", True)
    in_use = boot(net_client, cloud_image, "stealer", expect=409,
                  networks=[{"port": port_id}])
    assert "in use" in in_use.json()["conflictingRequest"]["message"]
    delete_and_wait(net_client, server_id)
    with cloud.session() as session:
        kept = session.get(models.Port, port_id)
        assert kept is not None and kept.device_id == "" and kept.status == "DOWN"
    assert used(cloud, subnet_id) == 1            # the port still holds its address
    with cloud.session() as session:
        ports.delete(session, port_id)
    assert used(cloud, subnet_id) == 0


@pytest.mark.parametrize("networks, code, words", [
    ([{"uuid": "not-a-uuid"}], 400, "network uuid is not in proper format"),
    ([{"uuid": str(uuid.uuid4())}], 400, "could not be found"),
    ([{"port": str(uuid.uuid4())}], 400, "could not be found"),
    ([{"uuid": "x", "bogus": 1}], 400, ""),
    ("everything", 400, ""),
])
def test_bad_networks_get_clear_400s(net_client, cloud_image, networks, code, words):
    response = boot(net_client, cloud_image, "bad", expect=code, networks=networks)
    assert words in response.json()["badRequest"]["message"]


def test_unknown_security_group_is_a_400(net_client, cloud_image):
    response = boot(net_client, cloud_image, "sg", expect=400, networks="none",
                    security_groups=[{"name": "no-such-group"}])
    assert "no-such-group" in response.json()["badRequest"]["message"]


def test_two_networks_make_absent_ambiguous(cloud, net_client, cloud_image, network):
    other, _ = make_network(cloud, project_id(net_client), "10.68.0.0/24", name="second")
    try:
        response = boot(net_client, cloud_image, "ambiguous", expect=409)
        assert "Multiple possible networks" in response.json()["conflictingRequest"][
            "message"]
        explicit = boot(net_client, cloud_image, "both", networks=[
            {"uuid": network[0]}, {"uuid": other}]).json()["server"]["id"]
        server = wait_status(net_client, explicit, "ACTIVE")
        assert sorted(server["addresses"]) == ["private", "second"]
        delete_and_wait(net_client, explicit)
    finally:
        drop_network(cloud, other)


def test_add_and_remove_security_group_changes_every_port(cloud, net_client, cloud_image,
                                                         network):
    from nova_lite.db import models
    with cloud.session() as session:
        group = models.SecurityGroup(project_id=project_id(net_client), name="web")
        session.add(group)
        session.flush()
        group_id = group.id
    try:
        server_id = boot(net_client, cloud_image, "sg", networks=[
            {"uuid": network[0]}]).json()["server"]["id"]
        wait_status(net_client, server_id, "ACTIVE")
        action = f"/servers/{server_id}/action"
        added = net_client.compute("POST", action, json={"addSecurityGroup": {"name": "web"}})
        assert added.status_code == 202, added.text
        again = net_client.compute("POST", action, json={"addSecurityGroup": {"name": "web"}})
        assert again.status_code == 400 and "already associated" in again.text
        server = server_status(net_client, server_id)[1]
        assert server["security_groups"] == [{"name": "default"}, {"name": "web"}]
        listed = net_client.compute("GET", f"/servers/{server_id}/os-security-groups")
        assert [g["name"] for g in listed.json()["security_groups"]] == ["default", "web"]
        missing = net_client.compute("POST", action,
                                     json={"addSecurityGroup": {"name": "nope"}})
        assert missing.status_code == 404, missing.text
        removed = net_client.compute("POST", action,
                                     json={"removeSecurityGroup": {"name": "web"}})
        assert removed.status_code == 202, removed.text
        twice = net_client.compute("POST", action,
                                   json={"removeSecurityGroup": {"name": "web"}})
        assert twice.status_code == 400 and "not associated" in twice.text
        assert server_status(net_client, server_id)[1]["security_groups"] == [
            {"name": "default"}]
        delete_and_wait(net_client, server_id)
    finally:
        with cloud.session() as session:
            session.execute(text("DELETE FROM security_groups WHERE id = :id"),
                            {"id": group_id})


def test_add_and_remove_floating_ip_through_the_compute_api(cloud, net_client, cloud_image,
                                                            network):
    import types

    from nova_lite.db import models
    from nova_lite.network import floating_ips
    public, _ = make_network(cloud, None, "172.30.9.0/24", name="public-test", external=True)
    project = project_id(net_client)
    ctx = types.SimpleNamespace(project_id=project, is_admin=True, user_id=None,
                                to_rpc=lambda: {"project_id": project})
    try:
        with cloud.session() as session:
            fip = floating_ips.allocate(session, ctx, public, project_id=project)
            address = floating_ips.fip_address(fip)
        server_id = boot(net_client, cloud_image, "fip", networks=[
            {"uuid": network[0]}]).json()["server"]["id"]
        fixed = wait_status(net_client, server_id, "ACTIVE")["addresses"]["private"][0][
            "addr"]
        action = f"/servers/{server_id}/action"
        wrong = net_client.compute("POST", action, json={"addFloatingIp": {
            "address": address, "fixed_address": "10.66.0.250"}})
        assert wrong.status_code == 400 and "not assigned" in wrong.text
        added = net_client.compute("POST", action, json={"addFloatingIp": {
            "address": address}})
        assert added.status_code == 202, added.text
        entries = server_status(net_client, server_id)[1]["addresses"]["private"]
        assert [(e["addr"], e["OS-EXT-IPS:type"]) for e in entries] == [
            (fixed, "fixed"), (address, "floating")]
        with cloud.session() as session:
            row = session.scalars(select_fip(models, address)).one()
            assert (str(row.fixed_ip_address), row.status) == (fixed, "ACTIVE")
        removed = net_client.compute("POST", action, json={"removeFloatingIp": {
            "address": address}})
        assert removed.status_code == 202, removed.text
        again = net_client.compute("POST", action, json={"removeFloatingIp": {
            "address": address}})
        assert again.status_code == 409, again.text
        unknown = net_client.compute("POST", action, json={"addFloatingIp": {
            "address": "172.30.9.254"}})
        assert unknown.status_code == 404, unknown.text
        assert [e["OS-EXT-IPS:type"] for e in server_status(net_client, server_id)[1][
            "addresses"]["private"]] == ["fixed"]
        delete_and_wait(net_client, server_id)
        with cloud.session() as session:
            floating_ips.release(session, ctx, fip.id)
    finally:
        drop_network(cloud, public)


def select_fip(models, address):
    from sqlalchemy import select
    return select(models.FloatingIP).where(models.FloatingIP.floating_ip_address == address)


def test_membership_change_reaches_the_servers_host(net_client, cloud, cloud_image,
                                                   network):
    """addSecurityGroup goes API -> outbox -> conductor -> the server's compute
    host, which logs the refresh of the server's network."""
    from nova_lite.db import models
    with cloud.session() as session:
        group = models.SecurityGroup(project_id=project_id(net_client), name="watch")
        session.add(group)
        session.flush()
        group_id = group.id
    try:
        server_id = boot(net_client, cloud_image, "watched", networks=[
            {"uuid": network[0]}]).json()["server"]["id"]
        wait_status(net_client, server_id, "ACTIVE")
        host = server_status(cloud.admin, server_id)[1]["OS-EXT-SRV-ATTR:host"]
        log = f"compute-{host}"
        before = cloud.log_tail(log, 5000).count(f"network of {server_id} changed")
        added = net_client.compute("POST", f"/servers/{server_id}/action",
                                   json={"addSecurityGroup": {"name": "watch"}})
        assert added.status_code == 202, added.text
        wait_for(lambda: cloud.log_tail(log, 5000).count(f"network of {server_id} changed"),
                 lambda count: count > before, 60)
        delete_and_wait(net_client, server_id)
    finally:
        with cloud.session() as session:
            session.execute(text("DELETE FROM security_groups WHERE id = :id"),
                            {"id": group_id})


def test_a_server_deleted_while_its_host_is_down_leaves_its_peers_sets(
        net_client, cloud, cloud_image, network):
    """Deleted at once (its host's service is down), a member of 'default'
    still leaves the group on the other members' hosts: the membership
    fan-out tells them its address left (nova_lite.network.membership)."""
    servers = {}
    for n in range(6):          # two servers on different hosts (RAM spreads them)
        server_id = boot(net_client, cloud_image, f"peer-{n}", networks=[
            {"uuid": network[0]}]).json()["server"]["id"]
        wait_status(net_client, server_id, "ACTIVE")
        servers[server_id] = server_status(cloud.admin, server_id)[1][
            "OS-EXT-SRV-ATTR:host"]
        if len(set(servers.values())) == 2:
            break
    assert len(set(servers.values())) == 2, servers
    gone, dead_host = list(servers.items())[-1]
    peer = next(s for s, h in servers.items() if h != dead_host)
    log = f"compute-{servers[peer]}"
    address = next(iter(server_status(net_client, gone)[1]["addresses"].values()))[0]["addr"]

    def left():          # "members of group <id> (pass <n>): joined ..., left <addresses>"
        return [line for line in cloud.log_tail(log, 5000).splitlines()
                if "members of group" in line
                and address in line.rsplit(", left ", 1)[-1].split(", ")]
    before = len(left())          # an earlier test's server may have had the address
    try:
        with cloud.host_killed(dead_host, silent_for=3600):
            assert net_client.compute("DELETE", f"/servers/{gone}").status_code == 204
            assert server_status(net_client, gone)[0] == "GONE"
            wait_for(left, lambda lines: len(lines) > before, 60)
    finally:
        for server_id in servers:
            if server_id != gone:
                delete_and_wait(net_client, server_id)
