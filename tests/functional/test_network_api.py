"""Networking v2 API (/network) in-process against the real PostgreSQL:
networks, subnets, ports, floating IPs, security groups and rules, their
errors (always NeutronError bodies, never a 500), visibility between projects
and the notifications that tell compute hosts about changes.

Subnets may not overlap anywhere, and other tests share the database, so
every test uses CIDRs of its own under 10.100.0.0/14 / fd00:100::/32 and
deletes what it made (leftover networks would change what 'auto' picks for
servers elsewhere)."""
import ipaddress
import uuid

import pytest

from tests.fixtures.credentials import DEMO_PASSWORD, login_response
from tests.fixtures.network_api import NET, cidr24, outbox_changes, outbox_mark, unique


@pytest.fixture
def external(api):
    """An external network with a /24 (floating IP pool), made by admin."""
    network = api.network(as_="admin", **{"router:external": True})
    cidr = cidr24()
    subnet = api.subnet(network["id"], cidr, as_="admin")
    return network, subnet, cidr


def usage(subnet_id):
    from nova_lite.db.session import reader
    from nova_lite.network import ipam
    with reader() as session:
        return ipam.usage(session, subnet_id)


# -- discovery ---------------------------------------------------------------------------
def test_version_discovery_resources_and_extensions(client, demo_headers):
    for path in ("/network", "/network/"):
        response = client.get(path)
        assert response.status_code == 200
        (version,) = response.json["versions"]
        assert version["id"] == "v2.0" and version["status"] == "CURRENT"
        assert version["links"][0]["href"].endswith("/network/v2.0/")
    resources = client.get("/network/v2.0/").json["resources"]
    assert {"networks", "subnets", "ports", "floatingips", "security-groups",
            "security-group-rules"} == {r["collection"] for r in resources}
    extensions = client.get(NET + "/extensions", headers=demo_headers).json["extensions"]
    aliases = {e["alias"] for e in extensions}
    assert {"external-net", "security-group", "port-security"} <= aliases
    assert "router" not in aliases
    one = client.get(NET + "/extensions/external-net", headers=demo_headers)
    assert one.status_code == 200 and one.json["extension"]["alias"] == "external-net"
    missing = client.get(NET + "/extensions/tag-ports-during-bulk-creation",
                         headers=demo_headers)
    assert missing.status_code == 404 and "NeutronError" in missing.json


def test_catalog_lists_the_network_service(client):
    response = login_response(client, "demo", DEMO_PASSWORD, "demo")
    catalog = response.json["token"]["catalog"]
    (network,) = [s for s in catalog if s["type"] == "network"]
    assert network["name"] == "neutron"
    assert {e["url"] for e in network["endpoints"]} == {"http://localhost/network"}


# -- networks ----------------------------------------------------------------------------
def test_network_create_list_show_update_delete(api):
    created = api.network(description="mine")
    for key, value in {"status": "ACTIVE", "admin_state_up": True, "shared": False,
                       "router:external": False, "subnets": [], "mtu": 1500,
                       "description": "mine",
                       "tags": [], "port_security_enabled": True}.items():
        assert created[key] == value, key
    # Provider attributes are for admins only (Neutron's policy).
    assert not [key for key in created if key.startswith("provider:")]
    assert created["project_id"] == created["tenant_id"]
    assert created["created_at"].endswith("Z") and created["revision_number"] == 1
    listed = api.get("/networks", name=created["name"])["networks"]
    assert [n["id"] for n in listed] == [created["id"]]
    assert api.get(f"/networks/{created['id']}")["network"]["name"] == created["name"]
    updated = api.put(f"/networks/{created['id']}", {"network": {"name": "renamed",
                                                                 "mtu": 1400}})
    assert (updated["name"], updated["mtu"], updated["revision_number"]) == \
        ("renamed", 1400, 2)
    api.delete(f"/networks/{created['id']}")
    error = api.get(f"/networks/{created['id']}", expect=404)
    assert error["type"] == "NetworkNotFound"
    assert api.delete(f"/networks/{created['id']}", expect=404)["type"] == \
        "NetworkNotFound"


def test_admins_see_each_networks_vxlan_segment(api):
    """Every network gets a VNI from the sequence (migration 0006); admins see
    it as Neutron's provider attributes and may filter on it; others may not
    set provider attributes (403, as Neutron)."""
    first = api.network(as_="admin", **{"provider:network_type": "vxlan"})
    second = api.network()
    seen = {n["id"]: n for n in api.get("/networks", as_="admin")["networks"]}
    for network in (first, seen[second["id"]]):
        assert network["provider:network_type"] == "vxlan"
        assert network["provider:physical_network"] is None
        assert 1 <= network["provider:segmentation_id"] <= 16777215
    assert first["provider:segmentation_id"] != seen[second["id"]]["provider:segmentation_id"]
    shown = api.get(f"/networks/{first['id']}", as_="admin")["network"]
    assert shown["provider:segmentation_id"] == first["provider:segmentation_id"]
    assert "provider:segmentation_id" not in api.get(f"/networks/{second['id']}")["network"]
    found = api.get("/networks", as_="admin", **{
        "provider:segmentation_id": first["provider:segmentation_id"]})["networks"]
    assert [n["id"] for n in found] == [first["id"]]
    assert api.get("/networks", as_="admin", expect=400,
                   **{"provider:segmentation_id": "99999999999"})
    error = api.post("/networks", {"network": {"provider:network_type": "vxlan"}},
                     expect=403)
    assert error["type"] == "PolicyNotAuthorized"
    assert api.post("/networks", {"network": {"provider:segmentation_id": 5}},
                    as_="admin", expect=400)
    assert "provider" in {e["alias"] for e in api.get("/extensions")["extensions"]}


def test_only_admins_make_networks_external_or_shared(api):
    error = api.post("/networks", {"network": {"name": "x", "router:external": True}},
                     expect=403)
    assert error["type"] == "PolicyNotAuthorized" and "router:external" in \
        error["message"]
    assert api.post("/networks", {"network": {"name": "x", "shared": True}},
                    expect=403)["type"] == "PolicyNotAuthorized"
    own = api.network()
    assert api.put(f"/networks/{own['id']}", {"network": {"shared": True}},
                   expect=403)["type"] == "PolicyNotAuthorized"
    public = api.network(as_="admin", shared=True, **{"router:external": True})
    seen = api.get(f"/networks/{public['id']}")["network"]
    assert seen["shared"] and seen["router:external"]
    api.put(f"/networks/{public['id']}", {"network": {"name": "mine"}}, expect=403)
    api.delete(f"/networks/{public['id']}", expect=403)
    names = {n["name"] for n in api.get("/networks")["networks"]}
    assert {own["name"], public["name"]} <= names
    external_only = api.get("/networks", **{"router:external": "true"})["networks"]
    assert public["id"] in {n["id"] for n in external_only}
    assert own["id"] not in {n["id"] for n in external_only}


def test_other_projects_resources_are_invisible(api, demo_headers):
    private = api.network(as_="admin")
    subnet = api.subnet(private["id"], cidr24(), as_="admin")
    port = api.port(private["id"], as_="admin")
    group = api.post("/security-groups", {"security_group": {"name": unique("sg")}},
                     as_="admin")
    for path in (f"/networks/{private['id']}", f"/subnets/{subnet['id']}",
                 f"/ports/{port['id']}", f"/security-groups/{group['id']}"):
        api.get(path, expect=404)
        api.delete(path, expect=404)
    assert private["id"] not in {n["id"] for n in api.get("/networks")["networks"]}
    assert port["id"] not in {p["id"] for p in api.get("/ports")["ports"]}
    api.port(private["id"], expect=404)                       # not even by id
    api.post("/subnets", {"subnet": {
        "network_id": private["id"], "cidr": cidr24(), "ip_version": 4}}, expect=404)
    mine = api.network()
    admin_view = api.get(f"/networks/{mine['id']}", as_="admin")["network"]
    assert admin_view["id"] == mine["id"]                     # admins see everything
    assert admin_view["project_id"] != api.get("/networks", as_="admin", id=private["id"])[
        "networks"][0]["project_id"]
    assert api.post("/networks", {"network": {"name": "x", "project_id": "someone-else"}},
                    expect=400)["type"] == "HTTPBadRequest"


def test_list_paging_sorting_and_fields(api):
    tag = unique("page")
    made = [api.network(name=f"{tag}-{i}") for i in range(5)]
    ids = sorted(n["id"] for n in made)
    first = api.get("/networks", name=[n["name"] for n in made], limit=2)
    assert [n["id"] for n in first["networks"]] == ids[:2]
    (link,) = first["networks_links"]
    assert link["rel"] == "next" and "marker=" + ids[1] in link["href"]
    second = api.get("/networks", name=[n["name"] for n in made], limit=2, marker=ids[1])
    assert [n["id"] for n in second["networks"]] == ids[2:4]
    last = api.get("/networks", name=[n["name"] for n in made], limit=2, marker=ids[3])
    assert [n["id"] for n in last["networks"]] == ids[4:]
    assert "networks_links" not in last
    by_name = api.get("/networks", name=[n["name"] for n in made], sort_key="name",
                      sort_dir="desc")["networks"]
    assert [n["name"] for n in by_name] == [f"{tag}-{i}" for i in range(4, -1, -1)]
    slim = api.get("/networks", name=made[0]["name"], fields=["id", "name"])["networks"]
    assert slim == [{"id": made[0]["id"], "name": made[0]["name"]}]
    assert api.get("/networks", sort_key="bogus", expect=400)["type"] == "HTTPBadRequest"
    assert api.get("/networks", tags="x")["networks"] == []


# -- subnets -----------------------------------------------------------------------------
def test_subnet_defaults_options_update_and_delete(api):
    network = api.network()
    cidr = cidr24()
    net = ipaddress.ip_network(cidr)
    subnet = api.subnet(network["id"], cidr, name="s1")
    assert subnet["gateway_ip"] == str(net[1])
    assert subnet["allocation_pools"] == [{"start": str(net[2]), "end": str(net[254])}]
    assert (subnet["enable_dhcp"], subnet["dns_nameservers"], subnet["host_routes"],
            subnet["subnetpool_id"], subnet["ipv6_ra_mode"]) == (True, [], [], None, None)
    assert usage(subnet["id"]) == (0, 253)
    assert api.get(f"/networks/{network['id']}")["network"]["subnets"] == [subnet["id"]]
    other_cidr = cidr24()
    other = ipaddress.ip_network(other_cidr)
    custom = api.subnet(network["id"], other_cidr, gateway_ip=str(other[254]),
                        allocation_pools=[{"start": str(other[10]),
                                           "end": str(other[19])}],
                        dns_nameservers=["192.0.2.53"], enable_dhcp=False,
                        host_routes=[{"destination": "192.0.2.0/24",
                                      "nexthop": str(other[1])}])
    assert custom["gateway_ip"] == str(other[254]) and not custom["enable_dhcp"]
    assert usage(custom["id"]) == (0, 10)
    no_gateway = api.subnet(api.network()["id"], cidr24(), gateway_ip=None)
    assert no_gateway["gateway_ip"] is None
    assert len(no_gateway["allocation_pools"]) == 1
    updated = api.put(f"/subnets/{custom['id']}", {"subnet": {
        "name": "renamed", "dns_nameservers": ["192.0.2.54", "192.0.2.55"],
        "gateway_ip": str(other[253])}})
    assert (updated["name"], updated["dns_nameservers"], updated["gateway_ip"]) == \
        ("renamed", ["192.0.2.54", "192.0.2.55"], str(other[253]))
    assert api.put(f"/subnets/{custom['id']}", {"subnet": {"gateway_ip": str(other[12])}},
                   expect=409)["type"] == "GatewayConflictWithAllocationPools"
    assert api.put(f"/subnets/{custom['id']}", {"subnet": {"allocation_pools": []}},
                   expect=400)["type"] == "InvalidInput"
    filtered = api.get("/subnets", network_id=network["id"])["subnets"]
    assert {s["id"] for s in filtered} == {subnet["id"], custom["id"]}
    api.delete(f"/subnets/{custom['id']}")
    api.get(f"/subnets/{custom['id']}", expect=404)
    assert usage(custom["id"]) == (0, 0)


@pytest.mark.parametrize("cidr,attrs,words", [
    ("10.300.0.0/24", {}, "does not appear to be an IPv4 or IPv6 network"),
    ("not-a-cidr", {}, "Invalid input for cidr"),
    ("10.103.0.1/24", {}, "has host bits set"),
    ("10.103.0.0/24", {"ip_version": 6}, "not an IPv6 network"),
    ("10.103.0.0/31", {}, "too small"),
    ("10.103.0.0/24", {"gateway_ip": "10.104.0.1"}, "not inside"),
    ("10.103.0.0/24", {"allocation_pools": [{"start": "10.103.0.200",
                                             "end": "10.103.1.3"}]}, "outside"),
    ("10.103.0.0/24", {"allocation_pools": [{"start": "10.103.0.20",
                                             "end": "10.103.0.10"}]}, "start is after"),
    ("10.103.0.0/24", {"allocation_pools": [
        {"start": "10.103.0.10", "end": "10.103.0.20"},
        {"start": "10.103.0.15", "end": "10.103.0.30"}]}, "overlaps"),
    ("10.103.0.0/24", {"dns_nameservers": ["dns.example.com"]}, "not a valid IP"),
    ("10.103.0.0/24", {"ipv6_address_mode": "slaac"}, "only valid for IPv6"),
    ("fd00:103::/48", {"ip_version": 6}, "must be a /64"),
    ("fd00:103::/64", {"ip_version": 6, "ipv6_address_mode": "dhcpv6-stateful"},
     "not supported"),
    ("fd00:103::/64", {"ip_version": 6, "ipv6_ra_mode": "slaac",
                       "ipv6_address_mode": "dhcpv6-stateless"}, "must be the same"),
    ("10.103.0.0/24", {"ip_version": 5}, "Invalid input"),
    ("10.103.0.0/24", {"subnetpool_id": "abc"}, "Invalid input"),
])
def test_subnet_input_errors_are_400_with_a_reason(api, cidr, attrs, words):
    network = api.network()
    body = {"network_id": network["id"], "cidr": cidr, "ip_version": 4, **attrs}
    error = api.post("/subnets", {"subnet": body}, expect=400)
    assert words in error["message"], error


def test_gateway_inside_a_pool_is_a_conflict(api):
    network = api.network()
    error = api.post("/subnets", {"subnet": {
        "network_id": network["id"], "cidr": "10.103.1.0/24", "ip_version": 4,
        "gateway_ip": "10.103.1.15",
        "allocation_pools": [{"start": "10.103.1.10", "end": "10.103.1.20"}]}},
        expect=409)
    assert error["type"] == "GatewayConflictWithAllocationPools"


def test_overlapping_subnets_are_refused_anywhere_with_a_clear_message(api):
    cidr = cidr24()
    net = ipaddress.ip_network(cidr)
    mine = api.network()
    first = api.subnet(mine["id"], cidr)
    for network, overlapping in ((mine, str(net.supernet(1))),
                                 (api.network(), cidr),
                                 (api.network(as_="admin"),
                                  str(list(net.subnets(2))[1]))):
        as_ = "admin" if network["project_id"] != first["project_id"] else "demo"
        error = api.post("/subnets", {"subnet": {
            "network_id": network["id"], "cidr": overlapping, "ip_version": 4}},
            expect=400, as_=as_)
        assert error["type"] == "InvalidInput"
        assert f"cidr {overlapping} overlaps with another subnet" in error["message"]
        assert "routed by the same hosts" in error["message"]
        if as_ == "demo":
            assert first["id"] in error["message"]      # the caller may see it
    # the same CIDR is free again once its subnet is gone
    api.delete(f"/subnets/{first['id']}")
    api.subnet(api.network()["id"], cidr)


def test_the_exclusion_constraint_catches_racing_overlaps(api, configured):
    """Two transactions creating overlapping subnets at once: the second
    waits for the first and gets SubnetOverlap, not a 500."""
    import threading

    from nova_lite.api.context import RequestContext
    from nova_lite.db.session import transaction
    from nova_lite.network import exceptions, networks

    network = api.network()
    ctx = RequestContext(request_id="req-race", project_id=network["project_id"],
                         roles=("member",))
    cidr = cidr24()
    results = {}
    first_inserted = threading.Event()
    release_first = threading.Event()

    def first():
        with transaction() as session:
            networks.create_subnet(session, ctx, network["id"], cidr=cidr, ip_version=4)
            first_inserted.set()
            release_first.wait(10)
        results["first"] = "created"

    def second():
        first_inserted.wait(10)
        try:
            with transaction() as session:
                original = networks._overlapping
                networks._overlapping = lambda session, net: None    # skip the pre-check
                try:
                    networks.create_subnet(session, ctx, network["id"], cidr=cidr,
                                           ip_version=4)
                finally:
                    networks._overlapping = original
            results["second"] = "created"
        except exceptions.SubnetOverlap as exc:
            results["second"] = exc

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    first_inserted.wait(10)
    import time
    time.sleep(0.5)                      # the second now waits on the constraint
    release_first.set()
    for thread in threads:
        thread.join(30)
    assert results["first"] == "created"
    assert isinstance(results["second"], exceptions.SubnetOverlap)
    subnet_ids = api.get(f"/networks/{network['id']}")["network"]["subnets"]
    assert len(subnet_ids) == 1
    api.made.append(("/subnets", subnet_ids[0]))


def test_ipv6_slaac_subnet_gives_ports_eui64_addresses(api):
    network = api.network()
    v4_cidr = cidr24()
    v4 = api.subnet(network["id"], v4_cidr)
    v6 = api.subnet(network["id"], "fd00:100:1::/64", ipv6_ra_mode="slaac",
                    ipv6_address_mode="slaac")
    assert v6["gateway_ip"] == "fd00:100:1::1" and v6["ip_version"] == 6
    port = api.port(network["id"])
    by_subnet = {f["subnet_id"]: f["ip_address"] for f in port["fixed_ips"]}
    assert set(by_subnet) == {v4["id"], v6["id"]}
    mac = port["mac_address"].split(":")
    octets = [int(m, 16) for m in mac]
    octets[0] ^= 2
    expected = ipaddress.ip_address("fd00:100:1::") + int.from_bytes(
        bytes(octets[:3] + [0xff, 0xfe] + octets[3:]), "big")
    assert by_subnet[v6["id"]] == str(expected)
    api.delete(f"/ports/{port['id']}")


# -- ports -------------------------------------------------------------------------------
def test_port_create_list_show_update_delete(api):
    network = api.network()
    cidr = cidr24()
    subnet = api.subnet(network["id"], cidr)
    mark = outbox_mark()
    port = api.port(network["id"], name="p1", device_id="my-device")
    ((fixed),) = port["fixed_ips"]
    assert fixed["subnet_id"] == subnet["id"]
    assert ipaddress.ip_address(fixed["ip_address"]) in ipaddress.ip_network(cidr)
    assert port["mac_address"].startswith("fa:16:3e:")
    assert (port["status"], port["binding:vif_type"], port["port_security_enabled"],
            port["allowed_address_pairs"], port["device_id"]) == \
        ("DOWN", "unbound", True, [], "my-device")
    default = [g for g in api.get("/security-groups", name="default")["security_groups"]
               if g["project_id"] == port["project_id"]]
    assert port["security_groups"] == [default[0]["id"]]
    # an unbound port is no member yet: its peers' hosts have nothing to learn
    # (test_membership.py: what binding it tells them)
    assert outbox_changes(mark) == []
    for query in ({"network_id": network["id"]}, {"device_id": "my-device"},
                  {"fixed_ips": f"ip_address={fixed['ip_address']}"},
                  {"fixed_ips": f"subnet_id={subnet['id']}"},
                  {"mac_address": port["mac_address"]}):
        assert [p["id"] for p in api.get("/ports", **query)["ports"]] == [port["id"]]
    assert api.get("/ports", device_id="nothing")["ports"] == []
    assert api.get(f"/ports/{port['id']}")["port"]["fixed_ips"] == port["fixed_ips"]
    group = api.post("/security-groups", {"security_group": {"name": unique("sg")}})
    updated = api.put(f"/ports/{port['id']}", {"port": {
        "name": "p2", "security_groups": [group["id"]], "admin_state_up": False}})
    assert (updated["name"], updated["security_groups"], updated["admin_state_up"]) == \
        ("p2", [group["id"]], False)
    assert api.put(f"/ports/{port['id']}", {"port": {"port_security_enabled": False}},
                   expect=409)["type"] == "PortSecurityPortHasSecurityGroup"
    open_port = api.put(f"/ports/{port['id']}", {"port": {"port_security_enabled": False,
                                                          "security_groups": []}})
    assert open_port["security_groups"] == [] and not open_port["port_security_enabled"]
    api.delete(f"/ports/{port['id']}")
    api.get(f"/ports/{port['id']}", expect=404)
    assert usage(subnet["id"]) == (0, 253)


def test_port_fixed_ips_errors_and_reserved_owners(api):
    network = api.network()
    cidr = cidr24()
    net = ipaddress.ip_network(cidr)
    subnet = api.subnet(network["id"], cidr)
    wanted = str(net[77])
    port = api.port(network["id"], fixed_ips=[{"ip_address": wanted}])
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": wanted}]
    taken = api.port(network["id"], expect=409, fixed_ips=[{"ip_address": wanted}])
    assert taken["type"] == "IpAddressAlreadyAllocated" and wanted in taken["message"]
    outside = api.port(network["id"], expect=400, fixed_ips=[{"ip_address": "192.0.2.1"}])
    assert outside["type"] == "InvalidIpForSubnet"
    gateway = api.port(network["id"], expect=400, fixed_ips=[{"ip_address": str(net[1])}])
    assert gateway["type"] == "InvalidIpForSubnet"
    assert api.port(network["id"], expect=404,
                    fixed_ips=[{"subnet_id": str(uuid.uuid4())}])["type"] == \
        "SubnetNotFound"
    assert api.port(network["id"], expect=403, device_owner="compute:nova",
                    device_id=str(uuid.uuid4()))["type"] == "PolicyNotAuthorized"
    assert api.port(network["id"], expect=404, security_groups=[str(uuid.uuid4())])[
        "type"] == "SecurityGroupNotFound"
    assert api.port(network["id"], expect=400, mac_address="zz:zz")["type"] == \
        "HTTPBadRequest"
    assert api.put(f"/ports/{port['id']}", {"port": {"fixed_ips": []}}, expect=400)
    assert api.port(str(uuid.uuid4()), expect=404)["type"] == "NetworkNotFound"


def test_an_exhausted_network_refuses_the_next_port(api):
    network = api.network()
    subnet = api.subnet(network["id"], "10.103.2.0/29")      # 5 addresses after the gw
    assert usage(subnet["id"]) == (0, 5)
    made = [api.port(network["id"]) for _ in range(5)]
    assert len({p["fixed_ips"][0]["ip_address"] for p in made}) == 5
    error = api.port(network["id"], expect=409)
    assert error["type"] == "IpAddressGenerationFailure"
    assert network["id"] in error["message"]
    api.delete(f"/ports/{made[2]['id']}")
    again = api.port(network["id"])
    assert again["fixed_ips"][0]["ip_address"] == made[2]["fixed_ips"][0]["ip_address"]
    for port in made[:2] + made[3:] + [again]:
        api.delete(f"/ports/{port['id']}")


def test_networks_and_subnets_in_use_cannot_be_deleted(api):
    network = api.network()
    subnet = api.subnet(network["id"], cidr24())
    port = api.port(network["id"])
    error = api.delete(f"/networks/{network['id']}", expect=409)
    assert error["type"] == "NetworkInUse" and network["id"] in error["message"]
    assert api.delete(f"/subnets/{subnet['id']}", expect=409)["type"] == "SubnetInUse"
    assert usage(subnet["id"]) == (1, 253)              # nothing was lost on the way
    api.delete(f"/ports/{port['id']}")
    api.delete(f"/subnets/{subnet['id']}")
    api.delete(f"/networks/{network['id']}")


# -- floating IPs ------------------------------------------------------------------------
def test_floating_ip_allocate_associate_disassociate_release(api, external):
    ext_net, ext_subnet, ext_cidr = external
    network = api.network()
    api.subnet(network["id"], cidr24())
    device = str(uuid.uuid4())
    port = api.port(network["id"], device_id=device)
    fixed = port["fixed_ips"][0]["ip_address"]
    fip = api.post("/floatingips", {"floatingip": {"floating_network_id": ext_net["id"]}})
    assert (fip["status"], fip["port_id"], fip["fixed_ip_address"], fip["router_id"]) == \
        ("DOWN", None, None, None)
    assert ipaddress.ip_address(fip["floating_ip_address"]) in \
        ipaddress.ip_network(ext_cidr)
    assert usage(ext_subnet["id"])[0] == 1
    mark = outbox_mark()
    associated = api.put(f"/floatingips/{fip['id']}", {"floatingip": {
        "port_id": port["id"]}})
    assert (associated["status"], associated["port_id"], associated["fixed_ip_address"]) \
        == ("ACTIVE", port["id"], fixed)
    assert [c["instance_uuids"] for c in outbox_changes(mark)] == [[device]]
    again = api.put(f"/floatingips/{fip['id']}", {"floatingip": {"port_id": port["id"],
                                                                 "fixed_ip_address": fixed}})
    assert again["status"] == "ACTIVE"
    assert len(outbox_changes(mark)) == 1                # no change, no message
    assert [f["id"] for f in api.get("/floatingips", port_id=port["id"])[
        "floatingips"]] == [fip["id"]]
    second = api.post("/floatingips", {"floatingip": {"floating_network_id": ext_net["id"]}})
    taken = api.put(f"/floatingips/{second['id']}", {"floatingip": {
        "port_id": port["id"]}}, expect=409)
    assert taken["type"] == "FloatingIPPortAlreadyAssociated"
    wrong = api.put(f"/floatingips/{second['id']}", {"floatingip": {
        "port_id": port["id"], "fixed_ip_address": "192.0.2.9"}}, expect=400)
    assert "does not have fixed ip" in wrong["message"]
    no_such_port = api.put(f"/floatingips/{second['id']}", {"floatingip": {
        "port_id": str(uuid.uuid4())}}, expect=404)
    assert no_such_port["type"] == "PortNotFound"
    for _ in range(2):                                    # disassociating twice is fine
        gone = api.put(f"/floatingips/{fip['id']}", {"floatingip": {"port_id": None}})
        assert (gone["status"], gone["port_id"], gone["fixed_ip_address"]) == \
            ("DOWN", None, None)
    assert [c["instance_uuids"] for c in outbox_changes(mark)] == [[device], [device]]
    api.put(f"/floatingips/{second['id']}", {"floatingip": {"port_id": port["id"]}})
    api.delete(f"/ports/{port['id']}")                   # takes the association along
    assert api.get(f"/floatingips/{second['id']}")["floatingip"]["port_id"] is None
    api.delete(f"/floatingips/{fip['id']}")
    error = api.delete(f"/floatingips/{fip['id']}", expect=404)   # double release
    assert error["type"] == "FloatingIPNotFound"
    api.delete(f"/floatingips/{second['id']}")
    assert usage(ext_subnet["id"])[0] == 0


def test_floating_ip_errors(api, external):
    ext_net, _, ext_cidr = external
    internal = api.network()
    api.subnet(internal["id"], cidr24())
    not_external = api.post("/floatingips", {"floatingip": {
        "floating_network_id": internal["id"]}}, expect=400)
    assert "not external" in not_external["message"]
    api.post("/floatingips", {"floatingip": {"floating_network_id": str(uuid.uuid4())}},
             expect=404)
    chosen = str(ipaddress.ip_network(ext_cidr)[50])
    assert api.post("/floatingips", {"floatingip": {
        "floating_network_id": ext_net["id"], "floating_ip_address": chosen}},
        expect=403)["type"] == "PolicyNotAuthorized"
    fip = api.post("/floatingips", {"floatingip": {
        "floating_network_id": ext_net["id"], "floating_ip_address": chosen}},
        as_="admin")
    assert fip["floating_ip_address"] == chosen
    assert api.post("/floatingips", {"floatingip": {
        "floating_network_id": ext_net["id"], "floating_ip_address": chosen}},
        as_="admin", expect=409)["type"] == "IpAddressAlreadyAllocated"
    api.get(f"/floatingips/{fip['id']}", expect=404)              # admin's, not demo's
    # a port on the external network itself cannot take a floating IP (404, as
    # Neutron says, so `openstack server add floating ip` tries the next port)
    ext_port = api.port(ext_net["id"], as_="admin")
    error = api.put(f"/floatingips/{fip['id']}", {"floatingip": {
        "port_id": ext_port["id"]}}, as_="admin", expect=404)
    assert error["type"] == "ExternalGatewayForFloatingIPNotFound"
    # and the floating IP's own port cannot be deleted through the port API
    (own_port,) = api.get("/ports", as_="admin", device_id=fip["id"])["ports"]
    assert own_port["device_owner"] == "network:floatingip"
    assert api.delete(f"/ports/{own_port['id']}", as_="admin", expect=409)["type"] == \
        "PortInUse"
    error = api.delete(f"/networks/{ext_net['id']}", as_="admin", expect=409)
    assert error["type"] == "NetworkInUse"


def test_floating_ip_at_create_with_port(api, external):
    ext_net, _, _ = external
    network = api.network()
    api.subnet(network["id"], cidr24())
    port = api.port(network["id"])
    fip = api.post("/floatingips", {"floatingip": {
        "floating_network_id": ext_net["id"], "port_id": port["id"]}})
    assert fip["status"] == "ACTIVE" and fip["port_id"] == port["id"]
    assert fip["fixed_ip_address"] == port["fixed_ips"][0]["ip_address"]


# -- security groups ---------------------------------------------------------------------
def test_security_group_and_rule_crud(api):
    listed = api.get("/security-groups")["security_groups"]
    (default,) = [g for g in listed if g["name"] == "default"]
    rules = default["security_group_rules"]
    assert sorted((r["direction"], r["ethertype"], r["remote_group_id"]) for r in rules) \
        == [("egress", "IPv4", None), ("egress", "IPv6", None),
            ("ingress", "IPv4", default["id"]), ("ingress", "IPv6", default["id"])]
    group = api.post("/security-groups", {"security_group": {"name": unique("web"),
                                                             "description": "web"}})
    assert sorted((r["direction"], r["ethertype"]) for r in group["security_group_rules"]) \
        == [("egress", "IPv4"), ("egress", "IPv6")]
    assert group["stateful"] is True and group["project_id"] == group["tenant_id"]
    mark = outbox_mark()
    rule = api.post("/security-group-rules", {"security_group_rule": {
        "security_group_id": group["id"], "direction": "ingress", "protocol": "tcp",
        "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0",
        "ethertype": "IPv4"}})
    assert (rule["protocol"], rule["port_range_min"], rule["port_range_max"],
            rule["remote_ip_prefix"], rule["security_group_id"]) == \
        ("tcp", 22, 22, "0.0.0.0/0", group["id"])
    assert outbox_changes(mark)[-1]["security_group_ids"] == [group["id"]]
    duplicate = api.post("/security-group-rules", {"security_group_rule": {
        "security_group_id": group["id"], "direction": "ingress", "protocol": "6",
        "port_range_min": "22", "port_range_max": 22}}, expect=409)
    assert duplicate["type"] == "SecurityGroupRuleExists" and rule["id"] in \
        duplicate["message"]
    normalised = api.post("/security-group-rules", {"security_group_rule": {
        "security_group_id": group["id"], "direction": "ingress", "protocol": "icmpv6",
        "ethertype": "IPv6", "remote_ip_prefix": "fd00::1/64", "port_range_min": 128}})
    assert (normalised["protocol"], normalised["remote_ip_prefix"],
            normalised["port_range_max"]) == ("ipv6-icmp", "fd00::/64", None)
    remote = api.post("/security-group-rules", {"security_group_rule": {
        "security_group_id": group["id"], "direction": "ingress",
        "remote_group_id": default["id"]}})
    assert remote["remote_group_id"] == default["id"] and remote["protocol"] is None
    shown = api.get(f"/security-groups/{group['id']}")["security_group"]
    assert {r["id"] for r in shown["security_group_rules"]} >= {
        rule["id"], normalised["id"], remote["id"]}
    in_group = api.get("/security-group-rules", security_group_id=group["id"])[
        "security_group_rules"]
    assert len(in_group) == 5
    assert api.get(f"/security-group-rules/{rule['id']}")["security_group_rule"]["id"] \
        == rule["id"]
    mark = outbox_mark()
    api.delete(f"/security-group-rules/{rule['id']}")
    assert outbox_changes(mark)[-1]["security_group_ids"] == [group["id"]]
    api.delete(f"/security-group-rules/{rule['id']}", expect=404)
    renamed = api.put(f"/security-groups/{group['id']}", {"security_group": {
        "name": "renamed", "description": "d"}})
    assert (renamed["name"], renamed["description"]) == ("renamed", "d")
    api.delete(f"/security-groups/{group['id']}")
    api.get(f"/security-groups/{group['id']}", expect=404)


@pytest.mark.parametrize("rule,words", [
    ({"protocol": "tcp", "port_range_min": 30, "port_range_max": 20},
     "port_range_min must be <= port_range_max"),
    ({"protocol": "tcp", "port_range_min": 22}, "port_range_min must be <="),
    ({"protocol": "udp", "port_range_min": 0, "port_range_max": 10}, "port 0"),
    ({"protocol": "tcp", "port_range_min": 1, "port_range_max": 70000}, "port 70000"),
    ({"protocol": "icmp", "port_range_min": 300}, "ICMP type"),
    ({"protocol": "icmp", "port_range_max": 3}, "ICMP type (port-range-min) is missing"),
    ({"protocol": "gre", "port_range_min": 1, "port_range_max": 2},
     "only supported for TCP"),
    ({"port_range_min": 1, "port_range_max": 2}, "Must also specify protocol"),
    ({"protocol": "bogus"}, "not supported"),
    ({"protocol": "256"}, "not supported"),
    ({"ethertype": "IPv4", "remote_ip_prefix": "::/0"}, "Conflicting value ethertype"),
    ({"remote_ip_prefix": "10.0.0.0/33"}, "not a valid IP prefix"),
    ({"ethertype": "IPv5"}, "ethertype"),
    ({"protocol": "ipv6-icmp", "ethertype": "IPv4"}, "not supported with protocol"),
    ({"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "x"}, "Only remote_ip_prefix"),
    ({"direction": "sideways"}, "direction"),
])
def test_bad_rules_are_400(api, rule, words):
    group = api.post("/security-groups", {"security_group": {"name": unique("bad")}})
    body = {"security_group_id": group["id"], "direction": "ingress", **rule}
    error = api.post("/security-group-rules", {"security_group_rule": body}, expect=400)
    assert words in error["message"], error


def test_groups_in_use_and_the_default_group_are_protected(api):
    group = api.post("/security-groups", {"security_group": {"name": unique("used")}})
    network = api.network()
    api.subnet(network["id"], cidr24())
    device = str(uuid.uuid4())
    port = api.port(network["id"], security_groups=[group["id"]], device_id=device)
    error = api.delete(f"/security-groups/{group['id']}", expect=409)
    assert error["type"] == "SecurityGroupInUse"
    (default,) = [g for g in api.get("/security-groups", name="default")[
        "security_groups"] if g["project_id"] == group["project_id"]]
    assert api.delete(f"/security-groups/{default['id']}", expect=409)["type"] == \
        "SecurityGroupCannotRemoveDefault"
    assert api.put(f"/security-groups/{default['id']}", {"security_group": {
        "name": "other"}}, expect=409)["type"] == "SecurityGroupCannotUpdateDefault"
    assert api.post("/security-groups", {"security_group": {"name": "default"}},
                    expect=409)["type"] == "SecurityGroupDefaultAlreadyExists"
    mark = outbox_mark()
    api.put(f"/ports/{port['id']}", {"port": {"security_groups": [default["id"]]}})
    (change,) = outbox_changes(mark)
    # the port's own rules change; its membership reaches other hosts through
    # the membership fan-out (test_membership.py), not from here
    assert (change["instance_uuids"], change["security_group_ids"]) == ([device], [])
    api.delete(f"/security-groups/{group['id']}")
    other = api.post("/security-groups", {"security_group": {"name": unique("x")}},
                     as_="admin")
    error = api.post("/security-group-rules", {"security_group_rule": {
        "security_group_id": default["id"], "direction": "ingress",
        "remote_group_id": other["id"]}}, expect=404)
    assert error["type"] == "SecurityGroupNotFound"
    api.post("/security-group-rules", {"security_group_rule": {
        "security_group_id": other["id"], "direction": "ingress"}}, expect=404)


def test_a_removed_remote_group_refreshes_the_groups_that_named_it(api):
    target = api.post("/security-groups", {"security_group": {"name": unique("t")}})
    user = api.post("/security-groups", {"security_group": {"name": unique("u")}})
    api.post("/security-group-rules", {"security_group_rule": {
        "security_group_id": user["id"], "direction": "ingress",
        "remote_group_id": target["id"]}})
    mark = outbox_mark()
    api.delete(f"/security-groups/{target['id']}")
    assert outbox_changes(mark)[-1]["security_group_ids"] == [user["id"]]
    rules = api.get(f"/security-groups/{user['id']}")["security_group"][
        "security_group_rules"]
    assert all(r["remote_group_id"] is None for r in rules)


# -- the error format --------------------------------------------------------------------
def test_errors_are_neutron_errors_never_500(api, client, demo_headers):
    unknown = api.get("/routers", expect=404)
    assert unknown["type"] == "HTTPNotFound"
    assert api.call("PATCH", "/networks", 405)["type"] == "HTTPMethodNotAllowed"
    response = client.post(NET + "/networks", data="{not json",
                           headers={**demo_headers, "Content-Type": "application/json"})
    assert response.status_code == 400 and "NeutronError" in response.json
    assert api.post("/networks", {"network": {"name": "x", "color": "blue"}},
                    expect=400)["type"] == "HTTPBadRequest"
    assert api.post("/networks", {"networks": [{"name": "x"}]}, expect=400)
    assert api.post("/networks", {"network": {"mtu": 10}}, expect=400)
    assert api.post("/networks", {"network": {"provider:network_type": "vlan"}},
                    expect=400)
    assert api.get("/networks", shared="maybe", expect=400)["type"] == "HTTPBadRequest"
    assert api.get("/subnets", cidr="nonsense", expect=400)
    assert api.get("/networks", limit="x", expect=400)
    assert api.get("/networks", marker=str(uuid.uuid4()), expect=400)
    unauthenticated = client.get(NET + "/networks")
    assert unauthenticated.status_code == 401 and "NeutronError" in unauthenticated.json
