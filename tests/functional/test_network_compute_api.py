"""The Compute API's proxies onto networking, for older clients: os-networks,
os-floating-ip-pools, os-floating-ips, os-security-groups,
os-security-group-rules and servers/{id}/os-interface, in Nova's formats
(in-process, real PostgreSQL; servers stay in BUILD, which is enough)."""
import ipaddress
import uuid

import pytest

from tests.fixtures.images import upload_image
from tests.fixtures.network_api import cidr24, outbox_changes, outbox_mark, unique

COMPUTE = "/compute/v2.1"


def call(client, headers, method, path, expect, body=None):
    response = client.open(COMPUTE + path, method=method, json=body, headers=headers)
    assert response.status_code == expect, response.get_data(as_text=True)
    if expect >= 400:
        ((fault, detail),) = response.json.items()
        assert detail["code"] == expect and detail["message"]
        return fault, detail["message"]
    return response.json if response.get_data() else None


@pytest.fixture(scope="module")
def image_id(app, admin_headers):
    client = app.test_client()
    image = upload_image(client, admin_headers, unique("img"))
    yield image
    client.delete(f"/image/v2/images/{image}", headers=admin_headers)


def test_os_networks_lists_own_and_shared_networks(api, client, demo_headers,
                                                   admin_headers):
    own = api.network(name=unique("legacy"))
    cidr = cidr24()
    net = ipaddress.ip_network(cidr)
    api.subnet(own["id"], cidr, dns_nameservers=["192.0.2.53"])
    api.subnet(own["id"], "fd00:100:7::/64", ipv6_address_mode="slaac")
    shared = api.network(as_="admin", shared=True)
    private = api.network(as_="admin")
    listed = call(client, demo_headers, "GET", "/os-networks", 200)["networks"]
    by_id = {n["id"]: n for n in listed}
    assert own["id"] in by_id and shared["id"] in by_id and private["id"] not in by_id
    mine = by_id[own["id"]]
    assert set(mine) == {"id", "cidr", "netmask", "gateway", "broadcast", "dns1", "dns2",
                         "cidr_v6", "gateway_v6", "label", "netmask_v6"}
    assert (mine["label"], mine["cidr"], mine["netmask"], mine["gateway"],
            mine["broadcast"], mine["dns1"], mine["dns2"], mine["cidr_v6"],
            mine["gateway_v6"], mine["netmask_v6"]) == \
        (own["name"], cidr, "255.255.255.0", str(net[1]), str(net[-1]), "192.0.2.53",
         None, "fd00:100:7::/64", "fd00:100:7::1", "64")
    shown = call(client, demo_headers, "GET", f"/os-networks/{own['id']}", 200)["network"]
    assert shown == mine
    fault, _ = call(client, demo_headers, "GET", f"/os-networks/{private['id']}", 404)
    assert fault == "itemNotFound"
    as_admin = call(client, admin_headers, "GET", f"/os-networks/{private['id']}",
                    200)["network"]
    sample = {"bridge", "bridge_interface", "broadcast", "cidr", "cidr_v6", "created_at",
              "deleted", "deleted_at", "dhcp_server", "dhcp_start", "dns1", "dns2",
              "enable_dhcp", "gateway", "gateway_v6", "host", "id", "injected", "label",
              "mtu", "multi_host", "netmask", "netmask_v6", "priority", "project_id",
              "rxtx_base", "share_address", "updated_at", "vlan", "vpn_private_address",
              "vpn_public_address", "vpn_public_port"}
    assert set(as_admin) == sample            # shared/nova-api-samples/os-networks
    assert as_admin["bridge"] == "nlbr-" + private["id"][:8]


def test_os_floating_ips_and_pools(api, client, demo_headers):
    ext = api.network(as_="admin", name=unique("pool"), **{"router:external": True})
    api.subnet(ext["id"], "10.103.3.0/29", as_="admin")       # 5 addresses
    pools = call(client, demo_headers, "GET", "/os-floating-ip-pools", 200)
    assert {"name": ext["name"]} in pools["floating_ip_pools"]
    made = []
    for _ in range(5):
        fip = call(client, demo_headers, "POST", "/os-floating-ips", 200,
                   {"pool": ext["name"]})["floating_ip"]
        made.append(fip)
        assert (fip["pool"], fip["fixed_ip"], fip["instance_id"]) == \
            (ext["name"], None, None)
        assert ipaddress.ip_address(fip["ip"]) in ipaddress.ip_network("10.103.3.0/29")
    _, message = call(client, demo_headers, "POST", "/os-floating-ips", 404,
                      {"pool": ext["name"]})
    assert "No more floating IPs" in message
    assert call(client, demo_headers, "POST", "/os-floating-ips", 404,
                {"pool": "no-such-pool"})[0] == "itemNotFound"
    listed = call(client, demo_headers, "GET", "/os-floating-ips", 200)["floating_ips"]
    assert {f["id"] for f in made} <= {f["id"] for f in listed}
    assert call(client, demo_headers, "GET", f"/os-floating-ips/{made[0]['id']}",
                200)["floating_ip"] == made[0]
    for fip in made:
        call(client, demo_headers, "DELETE", f"/os-floating-ips/{fip['id']}", 202)
    call(client, demo_headers, "GET", f"/os-floating-ips/{made[0]['id']}", 404)
    call(client, demo_headers, "DELETE", f"/os-floating-ips/{made[0]['id']}", 404)


def test_os_security_groups_and_rules(client, demo_headers):
    groups = call(client, demo_headers, "GET", "/os-security-groups",
                  200)["security_groups"]
    (default,) = [g for g in groups if g["name"] == "default"]
    assert [r["group"]["name"] for r in default["rules"]] == ["default", "default"]
    group = call(client, demo_headers, "POST", "/os-security-groups", 200, {
        "security_group": {"name": unique("legacy"), "description": "d"}})[
        "security_group"]
    assert (group["rules"], group["description"]) == ([], "d")   # egress is not shown
    rule = call(client, demo_headers, "POST", "/os-security-group-rules", 200, {
        "security_group_rule": {"parent_group_id": group["id"], "ip_protocol": "tcp",
                                "from_port": 22, "to_port": 22,
                                "cidr": "10.0.0.0/8"}})["security_group_rule"]
    assert rule == {"id": rule["id"], "parent_group_id": group["id"],
                    "ip_protocol": "tcp", "from_port": 22, "to_port": 22, "group": {},
                    "ip_range": {"cidr": "10.0.0.0/8"}}
    duplicate = call(client, demo_headers, "POST", "/os-security-group-rules", 400, {
        "security_group_rule": {"parent_group_id": group["id"], "ip_protocol": "TCP",
                                "from_port": "22", "to_port": "22",
                                "cidr": "10.0.0.0/8"}})
    assert "already exists" in duplicate[1]
    icmp = call(client, demo_headers, "POST", "/os-security-group-rules", 200, {
        "security_group_rule": {"parent_group_id": group["id"], "ip_protocol": "icmp",
                                "from_port": -1, "to_port": -1,
                                "group_id": default["id"]}})["security_group_rule"]
    assert (icmp["from_port"], icmp["to_port"], icmp["group"]["name"],
            icmp["ip_range"]) == (-1, -1, "default", {})
    for bad in ({"ip_protocol": "tcp", "from_port": 30, "to_port": 20},
                {"ip_protocol": "tcp", "from_port": 0, "to_port": 20},
                {"ip_protocol": "icmp", "from_port": -1, "to_port": 3},
                {"ip_protocol": "tcp", "from_port": 22},
                {"ip_protocol": "xyz", "from_port": 1, "to_port": 2},
                {"ip_protocol": "tcp", "from_port": 1, "to_port": 2, "cidr": "x"}):
        call(client, demo_headers, "POST", "/os-security-group-rules", 400,
             {"security_group_rule": {"parent_group_id": group["id"], **bad}})
    call(client, demo_headers, "POST", "/os-security-group-rules", 404, {
        "security_group_rule": {"parent_group_id": str(uuid.uuid4()),
                                "ip_protocol": "tcp", "from_port": 1, "to_port": 2}})
    shown = call(client, demo_headers, "GET", f"/os-security-groups/{group['id']}",
                 200)["security_group"]
    assert {r["id"] for r in shown["rules"]} == {rule["id"], icmp["id"]}
    call(client, demo_headers, "DELETE", f"/os-security-group-rules/{rule['id']}", 202)
    call(client, demo_headers, "DELETE", f"/os-security-group-rules/{rule['id']}", 404)
    assert "default" in call(client, demo_headers, "DELETE",
                             f"/os-security-groups/{default['id']}", 400)[1]
    call(client, demo_headers, "DELETE", f"/os-security-groups/{group['id']}", 202)
    call(client, demo_headers, "GET", f"/os-security-groups/{group['id']}", 404)


def test_os_interface_lists_a_servers_ports(api, client, demo_headers, image_id):
    network = api.network()
    subnet = api.subnet(network["id"], cidr24())
    created = call(client, demo_headers, "POST", "/servers", 202, {"server": {
        "name": unique("vm"), "imageRef": image_id, "flavorRef": "1",
        "networks": [{"uuid": network["id"]}]}})["server"]
    try:
        (attachment,) = call(client, demo_headers, "GET",
                             f"/servers/{created['id']}/os-interface",
                             200)["interfaceAttachments"]
        (port,) = api.get("/ports", device_id=created["id"])["ports"]
        assert attachment == {"port_state": port["status"], "port_id": port["id"],
                              "net_id": network["id"], "mac_addr": port["mac_address"],
                              "fixed_ips": port["fixed_ips"]}
        assert attachment["fixed_ips"][0]["subnet_id"] == subnet["id"]
        shown = call(client, demo_headers, "GET",
                     f"/servers/{created['id']}/os-interface/{port['id']}", 200)
        assert shown["interfaceAttachment"] == attachment
        call(client, demo_headers, "GET",
             f"/servers/{created['id']}/os-interface/{uuid.uuid4()}", 404)
        # DHCP options changed: the server's host hears of it
        mark = outbox_mark()
        api.put(f"/subnets/{subnet['id']}", {"subnet": {"dns_nameservers": ["192.0.2.1"]}})
        assert [c["instance_uuids"] for c in outbox_changes(mark)] == [[created["id"]]]
        api.put(f"/subnets/{subnet['id']}", {"subnet": {"name": "renamed"}})
        assert len(outbox_changes(mark)) == 1
        # the server's own port is not deleted behind the compute API's back
        error = api.delete(f"/ports/{port['id']}", expect=409)
        assert error["type"] == "PortInUse" and created["id"] in error["message"]
    finally:
        call(client, demo_headers, "DELETE", f"/servers/{created['id']}", 204)
    call(client, demo_headers, "GET", f"/servers/{created['id']}/os-interface", 404)
    assert api.get("/ports", device_id=created["id"])["ports"] == []


def test_a_port_cannot_claim_another_projects_server(api, client, admin_headers,
                                                     image_id):
    network = api.network()
    api.subnet(network["id"], cidr24())
    theirs = call(client, admin_headers, "POST", "/servers", 202, {"server": {
        "name": unique("vm"), "imageRef": image_id, "flavorRef": "1",
        "networks": "none"}})["server"]
    try:
        error = api.port(network["id"], expect=403, device_id=theirs["id"])
        assert error["type"] == "PolicyNotAuthorized" and "device_id" in error["message"]
        port = api.port(network["id"])
        api.put(f"/ports/{port['id']}", {"port": {"device_id": theirs["id"]}},
                expect=403)
        assert api.put(f"/ports/{port['id']}", {"port": {"device_id": "mine"}})[
            "device_id"] == "mine"
    finally:
        call(client, admin_headers, "DELETE", f"/servers/{theirs['id']}", 204)
