"""Quotas and limits (in-process API, real PostgreSQL): the bodies of
os-quota-sets, os-quota-class-sets, /limits and Networking's /v2.0/quotas
(keys as Nova's API samples at 2.1 and Neutron's), enforcement of each
counted resource by the database's triggers (403 in Nova's words, 409
OverQuota in Neutron's), racing requests for the last units, usage after
deletes, the noop driver and ``quota sync``."""
import concurrent.futures
import json
import os
import uuid

import pytest
from sqlalchemy import text

from tests.fixtures.images import upload_image
from tests.fixtures.quotas import Member

COMPUTE = "/compute/v2.1"
NETWORK = "/network/v2.0"
SAMPLES = "/work/shared/nova-api-samples"
QUOTA_SET_KEYS = {
    "cores", "fixed_ips", "floating_ips", "id", "injected_file_content_bytes",
    "injected_file_path_bytes", "injected_files", "instances", "key_pairs",
    "metadata_items", "ram", "security_group_rules", "security_groups", "server_groups",
    "server_group_members"}
LIMIT_KEYS = {
    "maxImageMeta", "maxPersonality", "maxPersonalitySize", "maxSecurityGroupRules",
    "maxSecurityGroups", "maxServerMeta", "maxTotalCores", "maxTotalFloatingIps",
    "maxTotalInstances", "maxTotalKeypairs", "maxTotalRAMSize", "maxServerGroups",
    "maxServerGroupMembers", "totalCoresUsed", "totalInstancesUsed", "totalRAMUsed",
    "totalSecurityGroupsUsed", "totalFloatingIpsUsed", "totalServerGroupsUsed"}
NETWORK_DEFAULTS = {"network": 100, "subnet": 100, "port": 500, "floatingip": 50,
                    "security_group": 10, "security_group_rule": 100}


def sample(path):
    """An API sample's body (the keys are what matter), or the keys above."""
    full = os.path.join(SAMPLES, path)
    if not os.path.exists(full):
        return None
    with open(full) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def image_id(app, admin_headers):
    return upload_image(app.test_client(), admin_headers, "quota-image")


@pytest.fixture
def member(app):
    return Member(app, "q-" + uuid.uuid4().hex[:8])


def usage_row(project_id, resource, user_id=""):
    from nova_lite.db.session import reader
    with reader() as session:
        return session.execute(text(
            "SELECT in_use FROM quota_usages WHERE project_id = :p AND user_id = :u "
            "AND resource = :r"), {"p": project_id, "u": user_id, "r": resource}).scalar()


def set_quota(client, admin_headers, project_id, expect=200, user_id=None, **values):
    url = f"{COMPUTE}/os-quota-sets/{project_id}"
    if user_id:
        url += f"?user_id={user_id}"
    response = client.put(url, headers=admin_headers, json={"quota_set": values})
    assert response.status_code == expect, response.get_data(as_text=True)
    return response.json


def boot(client, headers, image_id, expect=202, flavor="1", **server):
    body = {"server": {"name": f"q-{uuid.uuid4().hex[:6]}", "imageRef": image_id,
                       "flavorRef": flavor, **server}}
    response = client.post(COMPUTE + "/servers", json=body, headers=headers)
    assert response.status_code == expect, response.get_data(as_text=True)
    return response.json


def servers_of(project_id):
    from nova_lite.db.session import reader
    with reader() as session:
        return session.execute(text(
            "SELECT uuid FROM instances WHERE project_id = :p AND NOT deleted"),
            {"p": project_id}).scalars().all()


# -- bodies ------------------------------------------------------------------------


def test_show_and_defaults_are_novas_bodies_with_novas_defaults(client, member):
    shown = client.get(f"{COMPUTE}/os-quota-sets/{member.project_id}",
                       headers=member.headers)
    assert shown.status_code == 200, shown.get_data(as_text=True)
    body = shown.json["quota_set"]
    expected = sample("os-quota-sets/quotas-show-get-resp.json")
    assert set(body) == (set(expected["quota_set"]) if expected else QUOTA_SET_KEYS)
    assert body["id"] == member.project_id
    assert (body["instances"], body["cores"], body["ram"], body["key_pairs"],
            body["metadata_items"], body["server_groups"],
            body["server_group_members"]) == (10, 20, 51200, 100, 128, 10, 10)
    assert body["floating_ips"] == body["security_groups"] == -1
    defaults = client.get(f"{COMPUTE}/os-quota-sets/{member.project_id}/defaults",
                          headers=member.headers).json["quota_set"]
    assert defaults == body


def test_update_is_admin_only_and_delete_goes_back_to_defaults(
        client, member, admin_headers):
    refused = client.put(f"{COMPUTE}/os-quota-sets/{member.project_id}",
                         headers=member.headers, json={"quota_set": {"instances": 50}})
    assert refused.status_code == 403
    updated = set_quota(client, admin_headers, member.project_id, instances=50,
                        cores="40")["quota_set"]
    assert "id" not in updated and updated["instances"] == 50 and updated["cores"] == 40
    shown = client.get(f"{COMPUTE}/os-quota-sets/{member.project_id}",
                       headers=member.headers).json["quota_set"]
    assert shown["instances"] == 50
    bad = client.put(f"{COMPUTE}/os-quota-sets/{member.project_id}", headers=admin_headers,
                     json={"quota_set": {"instances": -2}})
    assert bad.status_code == 400 and "badRequest" in bad.json
    unknown = client.put(f"{COMPUTE}/os-quota-sets/{member.project_id}",
                         headers=admin_headers, json={"quota_set": {"bogus": 1}})
    assert unknown.status_code == 400
    other = client.get(f"{COMPUTE}/os-quota-sets/some-other-project",
                       headers=member.headers)
    assert other.status_code == 403
    deleted = client.delete(f"{COMPUTE}/os-quota-sets/{member.project_id}",
                            headers=admin_headers)
    assert deleted.status_code == 202
    shown = client.get(f"{COMPUTE}/os-quota-sets/{member.project_id}",
                       headers=member.headers).json["quota_set"]
    assert shown["instances"] == 10 and shown["cores"] == 20


def test_detail_counts_servers_and_key_pairs(client, member, admin_headers, image_id):
    boot(client, member.headers, image_id, flavor="2")      # m1.small: 1 core, 2048 MB
    created = client.post(f"{COMPUTE}/os-keypairs", headers=member.headers,
                          json={"keypair": {"name": "k1"}})
    assert created.status_code == 200
    detail = client.get(f"{COMPUTE}/os-quota-sets/{member.project_id}/detail",
                        headers=member.headers)
    assert detail.status_code == 200
    body = detail.json["quota_set"]
    assert set(body) == QUOTA_SET_KEYS
    assert body["instances"] == {"in_use": 1, "limit": 10, "reserved": 0}
    assert body["cores"]["in_use"] == 1 and body["ram"]["in_use"] == 2048
    assert body["key_pairs"] == {"in_use": 1, "limit": 100, "reserved": 0}


def test_limit_below_usage_is_refused_unless_forced(client, member, admin_headers,
                                                    image_id):
    boot(client, member.headers, image_id, min_count=2, max_count=2)
    refused = client.put(f"{COMPUTE}/os-quota-sets/{member.project_id}",
                         headers=admin_headers, json={"quota_set": {"instances": 1}})
    assert refused.status_code == 400
    assert "already used and reserved 2" in refused.json["badRequest"]["message"]
    forced = set_quota(client, admin_headers, member.project_id, instances=1, force=True)
    assert forced["quota_set"]["instances"] == 1


def test_limits_body_and_usage(client, member, admin_headers, image_id):
    set_quota(client, admin_headers, member.project_id, instances=7)
    boot(client, member.headers, image_id, flavor="2", min_count=2, max_count=2)
    response = client.get(f"{COMPUTE}/limits", headers=member.headers)
    assert response.status_code == 200
    limits = response.json["limits"]
    assert limits["rate"] == []
    expected = sample("limits/limit-get-resp.json")
    absolute = limits["absolute"]
    assert set(absolute) == (set(expected["limits"]["absolute"]) if expected
                             else LIMIT_KEYS)
    assert absolute["maxTotalInstances"] == 7 and absolute["totalInstancesUsed"] == 2
    assert absolute["totalCoresUsed"] == 2 and absolute["totalRAMUsed"] == 4096
    assert absolute["maxTotalKeypairs"] == 100 and absolute["maxServerMeta"] == 128
    other = client.get(f"{COMPUTE}/limits?tenant_id={member.project_id}",
                       headers=admin_headers).json["limits"]["absolute"]
    assert other["totalInstancesUsed"] == 2
    refused = client.get(f"{COMPUTE}/limits?tenant_id=some-other-project",
                         headers=member.headers)
    assert refused.status_code == 403 and "limits:other_project" in refused.get_data(
        as_text=True)


def test_per_user_limits(client, app, member, admin_headers, image_id):
    set_quota(client, admin_headers, member.project_id, user_id=member.user_id,
              instances=2)
    user_view = client.get(
        f"{COMPUTE}/os-quota-sets/{member.project_id}?user_id={member.user_id}",
        headers=member.headers).json["quota_set"]
    project_view = client.get(f"{COMPUTE}/os-quota-sets/{member.project_id}",
                              headers=member.headers).json["quota_set"]
    assert user_view["instances"] == 2 and project_view["instances"] == 10
    too_high = client.put(
        f"{COMPUTE}/os-quota-sets/{member.project_id}?user_id={member.user_id}",
        headers=admin_headers, json={"quota_set": {"instances": 11}})
    assert too_high.status_code == 400
    boot(client, member.headers, image_id, min_count=2, max_count=2)
    refused = boot(client, member.headers, image_id, expect=403)
    assert refused["forbidden"]["message"] == (
        "Quota exceeded for instances: Requested 1, but already used 2 of 2 instances")
    assert usage_row(member.project_id, "instances") == 2
    detail = client.get(
        f"{COMPUTE}/os-quota-sets/{member.project_id}/detail?user_id={member.user_id}",
        headers=member.headers).json["quota_set"]
    assert detail["instances"] == {"in_use": 2, "limit": 2, "reserved": 0}
    client.delete(f"{COMPUTE}/os-quota-sets/{member.project_id}?user_id={member.user_id}",
                  headers=admin_headers)
    boot(client, member.headers, image_id)      # the project's 10 again


def test_class_default_applies_to_projects_without_limits(client, member, admin_headers):
    show = client.get(f"{COMPUTE}/os-quota-class-sets/default", headers=admin_headers)
    assert show.status_code == 200
    body = show.json["quota_class_set"]
    assert body["id"] == "default" and body["instances"] == 10
    assert set(body) == QUOTA_SET_KEYS - {"server_groups", "server_group_members"}
    assert client.get(f"{COMPUTE}/os-quota-class-sets/default",
                      headers=member.headers).status_code == 403
    try:
        updated = client.put(f"{COMPUTE}/os-quota-class-sets/default",
                             headers=admin_headers,
                             json={"quota_class_set": {"instances": 7}})
        assert updated.status_code == 200
        assert updated.json["quota_class_set"]["instances"] == 7
        shown = client.get(f"{COMPUTE}/os-quota-sets/{member.project_id}",
                           headers=member.headers).json["quota_set"]
        assert shown["instances"] == 7
    finally:
        client.put(f"{COMPUTE}/os-quota-class-sets/default", headers=admin_headers,
                   json={"quota_class_set": {"instances": 10}})


# -- enforcement -------------------------------------------------------------------


def test_instances_quota_refuses_in_novas_words_and_frees_on_delete(
        client, member, admin_headers, image_id):
    set_quota(client, admin_headers, member.project_id, instances=3)
    boot(client, member.headers, image_id, min_count=2, max_count=2)
    refused = boot(client, member.headers, image_id, expect=403, min_count=2, max_count=2)
    assert refused["forbidden"]["message"] == (
        "Quota exceeded for instances: Requested 2, but already used 2 of 3 instances")
    assert len(servers_of(member.project_id)) == 2
    # A range takes what fits (Nova's); a minimum that does not fit is refused.
    boot(client, member.headers, image_id, expect=403, min_count=2, max_count=5)
    boot(client, member.headers, image_id, min_count=1, max_count=5)
    assert len(servers_of(member.project_id)) == 3
    assert usage_row(member.project_id, "instances") == 3
    for server_id in servers_of(member.project_id):
        assert client.delete(f"{COMPUTE}/servers/{server_id}",
                             headers=member.headers).status_code == 204
    assert usage_row(member.project_id, "instances") == 0
    assert usage_row(member.project_id, "cores") == 0
    assert usage_row(member.project_id, "ram") == 0
    boot(client, member.headers, image_id, min_count=3, max_count=3)


def test_cores_and_ram_quotas(client, member, admin_headers, image_id):
    set_quota(client, admin_headers, member.project_id, ram=4096)
    boot(client, member.headers, image_id, flavor="2")             # 2048 MB
    refused = boot(client, member.headers, image_id, flavor="2", expect=403,
                   min_count=2, max_count=2)
    assert refused["forbidden"]["message"] == (
        "Quota exceeded for ram: Requested 4096, but already used 2048 of 4096 ram")
    set_quota(client, admin_headers, member.project_id, cores=2, ram=-1)
    refused = boot(client, member.headers, image_id, flavor="3", expect=403)   # 2 cores
    assert "Quota exceeded for cores: Requested 2, but already used 1 of 2 cores" \
        == refused["forbidden"]["message"]


def test_metadata_items_quota(client, member, admin_headers, image_id):
    set_quota(client, admin_headers, member.project_id, metadata_items=2)
    boot(client, member.headers, image_id, metadata={"a": "1", "b": "2"})
    refused = boot(client, member.headers, image_id, expect=403,
                   metadata={"a": "1", "b": "2", "c": "3"})
    assert refused["forbidden"]["message"].startswith("Quota exceeded for metadata_items")


def test_key_pairs_quota(client, member, admin_headers):
    set_quota(client, admin_headers, member.project_id, user_id=member.user_id,
              key_pairs=1)
    url = f"{COMPUTE}/os-keypairs"
    assert client.post(url, headers=member.headers,
                       json={"keypair": {"name": "one"}}).status_code == 200
    refused = client.post(url, headers=member.headers, json={"keypair": {"name": "two"}})
    assert refused.status_code == 403
    assert refused.json["forbidden"]["message"] == "Quota exceeded, too many key pairs."
    assert client.delete(f"{url}/one", headers=member.headers).status_code == 202
    assert usage_row("", "key_pairs", member.user_id) == 0
    assert client.post(url, headers=member.headers,
                       json={"keypair": {"name": "two"}}).status_code == 200


def set_network_quota(client, admin_headers, project_id, **values):
    response = client.put(f"{NETWORK}/quotas/{project_id}", headers=admin_headers,
                          json={"quota": values})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["quota"]


def assert_over_quota(response, resource):
    assert response.status_code == 409, response.get_data(as_text=True)
    assert response.json["NeutronError"]["type"] == "OverQuota"
    assert response.json["NeutronError"]["message"] == \
        f"Quota exceeded for resources: ['{resource}']."


def test_networking_quotas_api(client, member, admin_headers):
    url = f"{NETWORK}/quotas/{member.project_id}"
    shown = client.get(url, headers=member.headers)
    assert shown.status_code == 200 and shown.json["quota"] == NETWORK_DEFAULTS
    assert client.get(url + "/default", headers=member.headers).json["quota"] \
        == NETWORK_DEFAULTS
    assert client.put(url, headers=member.headers,
                      json={"quota": {"network": 1}}).status_code == 403
    assert set_network_quota(client, admin_headers, member.project_id,
                             network=3)["network"] == 3
    listed = client.get(f"{NETWORK}/quotas", headers=admin_headers).json["quotas"]
    mine = [q for q in listed if q["project_id"] == member.project_id]
    assert mine and mine[0]["network"] == 3 and mine[0]["tenant_id"] == member.project_id
    assert client.get(f"{NETWORK}/quotas", headers=member.headers).status_code == 403
    for path in ("", "/details", "/default"):
        other = client.get(f"{NETWORK}/quotas/some-other-project{path}",
                           headers=member.headers)
        assert other.status_code == 403 and "NeutronError" in other.json, path
    bad = client.put(url, headers=admin_headers, json={"quota": {"router": 1}})
    assert bad.status_code == 400
    created = client.post(f"{NETWORK}/networks", headers=member.headers,
                          json={"network": {"name": "n1"}})
    assert created.status_code == 201
    details = client.get(url + "/details", headers=member.headers).json["quota"]
    assert details["network"] == {"used": 1, "limit": 3, "reserved": 0}
    checked = client.put(url, headers=admin_headers,
                         json={"quota": {"network": 0, "check_limit": True}})
    assert checked.status_code == 400, checked.get_data(as_text=True)
    assert checked.json["NeutronError"]["type"] == "InvalidQuotaValue"
    below = set_network_quota(client, admin_headers, member.project_id, network=0)
    assert below["network"] == 0          # without check_limit, as Neutron
    assert set(details) == set(NETWORK_DEFAULTS)
    assert client.delete(url, headers=admin_headers).status_code == 204
    assert client.get(url, headers=member.headers).json["quota"]["network"] == 100
    aliases = {e["alias"] for e in
               client.get(f"{NETWORK}/extensions", headers=member.headers)
               .json["extensions"]}
    assert {"quotas", "quota_details"} <= aliases


def test_networking_resources_are_enforced(client, member, admin_headers):
    h = member.headers
    set_network_quota(client, admin_headers, member.project_id, network=1, subnet=1,
                      port=1)
    net = client.post(f"{NETWORK}/networks", headers=h, json={"network": {"name": "a"}})
    assert net.status_code == 201
    assert_over_quota(client.post(f"{NETWORK}/networks", headers=h,
                                  json={"network": {"name": "b"}}), "network")
    net_id = net.json["network"]["id"]
    cidr = f"10.{uuid.uuid4().int % 200 + 20}.{uuid.uuid4().int % 250}.0/28"
    subnet = client.post(f"{NETWORK}/subnets", headers=h, json={"subnet": {
        "network_id": net_id, "cidr": cidr, "ip_version": 4}})
    assert subnet.status_code == 201, subnet.get_data(as_text=True)
    assert_over_quota(client.post(f"{NETWORK}/subnets", headers=h, json={"subnet": {
        "network_id": net_id, "cidr": "fd00:%x::/64" % (uuid.uuid4().int % 65000),
        "ip_version": 6}}), "subnet")
    port = client.post(f"{NETWORK}/ports", headers=h, json={"port": {"network_id": net_id}})
    assert port.status_code == 201, port.get_data(as_text=True)
    assert_over_quota(client.post(f"{NETWORK}/ports", headers=h,
                                  json={"port": {"network_id": net_id}}), "port")
    assert client.delete(f"{NETWORK}/ports/{port.json['port']['id']}",
                         headers=h).status_code == 204
    assert usage_row(member.project_id, "port") == 0
    assert client.post(f"{NETWORK}/ports", headers=h,
                       json={"port": {"network_id": net_id}}).status_code == 201


def test_a_servers_ports_count_against_the_port_quota(client, member, admin_headers,
                                                      image_id):
    h = member.headers
    net_id = client.post(f"{NETWORK}/networks", headers=h,
                         json={"network": {"name": "srv"}}).json["network"]["id"]
    cidr = f"10.{uuid.uuid4().int % 200 + 20}.{uuid.uuid4().int % 250}.0/28"
    assert client.post(f"{NETWORK}/subnets", headers=h, json={"subnet": {
        "network_id": net_id, "cidr": cidr, "ip_version": 4}}).status_code == 201
    set_network_quota(client, admin_headers, member.project_id, port=1)
    boot(client, h, image_id, networks=[{"uuid": net_id}])
    refused = boot(client, h, image_id, expect=403, networks=[{"uuid": net_id}])
    assert refused["forbidden"]["message"] == "Maximum number of ports exceeded"
    assert len(servers_of(member.project_id)) == 1
    assert usage_row(member.project_id, "instances") == 1


def test_security_group_and_rule_quotas(client, member, admin_headers):
    h = member.headers
    groups = client.get(f"{NETWORK}/security-groups", headers=h)   # makes 'default'
    assert groups.status_code == 200
    rules_used = usage_row(member.project_id, "security_group_rule")
    assert usage_row(member.project_id, "security_group") == 1 and rules_used >= 1
    set_network_quota(client, admin_headers, member.project_id, security_group=2)
    group = client.post(f"{NETWORK}/security-groups", headers=h,
                        json={"security_group": {"name": "web"}})
    assert group.status_code == 201
    group_id = group.json["security_group"]["id"]
    rules_used = usage_row(member.project_id, "security_group_rule")
    set_network_quota(client, admin_headers, member.project_id,
                      security_group_rule=rules_used + 1)
    assert_over_quota(client.post(f"{NETWORK}/security-groups", headers=h,
                                  json={"security_group": {"name": "db"}}),
                      "security_group")

    def rule(port):
        return client.post(f"{NETWORK}/security-group-rules", headers=h, json={
            "security_group_rule": {"security_group_id": group_id, "direction": "ingress",
                                    "protocol": "tcp", "port_range_min": port,
                                    "port_range_max": port}})
    assert rule(22).status_code == 201
    assert_over_quota(rule(80), "security_group_rule")
    compute = client.post(f"{COMPUTE}/os-security-groups", headers=h, json={
        "security_group": {"name": "legacy", "description": "x"}})
    assert compute.status_code == 403, compute.get_data(as_text=True)


def test_floating_ip_quota(client, member, admin_headers):
    from nova_lite.db.session import transaction
    from tests.fixtures.networks import make_network
    cidr = f"172.{uuid.uuid4().int % 10 + 20}.{uuid.uuid4().int % 250}.0/28"
    make_network(transaction, None, cidr, external=True, shared=True)
    set_network_quota(client, admin_headers, member.project_id, floatingip=1)
    nets = client.get(f"{NETWORK}/networks?router:external=true",
                      headers=member.headers).json["networks"]
    pool = [n for n in nets if n["subnets"]][-1]["id"]
    first = client.post(f"{NETWORK}/floatingips", headers=member.headers,
                        json={"floatingip": {"floating_network_id": pool}})
    assert first.status_code == 201, first.get_data(as_text=True)
    assert_over_quota(client.post(f"{NETWORK}/floatingips", headers=member.headers,
                                  json={"floatingip": {"floating_network_id": pool}}),
                      "floatingip")
    assert usage_row(member.project_id, "port") in (None, 0)    # its port is not counted


# -- races, drivers, drift ---------------------------------------------------------


def test_racing_creates_for_the_last_units_exactly_fill_the_quota(
        app, member, admin_headers, image_id):
    client = app.test_client()
    set_quota(client, admin_headers, member.project_id, instances=5)
    boot(client, member.headers, image_id, min_count=2, max_count=2)

    def one(_):
        response = app.test_client().post(COMPUTE + "/servers", headers=member.headers,
                                          json={"server": {"name": "race",
                                                           "imageRef": image_id,
                                                           "flavorRef": "1"}})
        return response.status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(one, range(8)))
    assert sorted(codes) == [202] * 3 + [403] * 5, codes
    assert len(servers_of(member.project_id)) == 5
    assert usage_row(member.project_id, "instances") == 5


def test_racing_creates_of_one_user_exactly_fill_the_users_limit(
        app, member, admin_headers, image_id):
    """A user's limit is checked by counting the user's servers under the
    project's usage rows (no per-user counter): racing creates still stop at
    it exactly, and what the user holds shows in the user's view."""
    client = app.test_client()
    set_quota(client, admin_headers, member.project_id, user_id=member.user_id,
              instances=4, cores=3)
    boot(client, member.headers, image_id)

    def one(_):
        response = app.test_client().post(COMPUTE + "/servers", headers=member.headers,
                                          json={"server": {"name": "race",
                                                           "imageRef": image_id,
                                                           "flavorRef": "1"}})
        return response.status_code, response.json

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(one, range(8)))
    codes = sorted(code for code, _ in answers)
    assert codes == [202] * 2 + [403] * 6, codes         # cores: 3 of 1 each
    assert {body["forbidden"]["message"] for code, body in answers if code == 403} == {
        "Quota exceeded for cores: Requested 1, but already used 3 of 3 cores"}
    assert len(servers_of(member.project_id)) == 3
    assert usage_row(member.project_id, "instances") == 3
    detail = client.get(
        f"{COMPUTE}/os-quota-sets/{member.project_id}/detail?user_id={member.user_id}",
        headers=member.headers).json["quota_set"]
    assert detail["instances"] == {"in_use": 3, "limit": 4, "reserved": 0}
    assert detail["cores"] == {"in_use": 3, "limit": 3, "reserved": 0}


def test_racing_key_pairs_for_the_last_unit(app, member, admin_headers):
    client = app.test_client()
    set_quota(client, admin_headers, member.project_id, key_pairs=2)

    def one(i):
        return app.test_client().post(f"{COMPUTE}/os-keypairs", headers=member.headers,
                                      json={"keypair": {"name": f"k{i}", "public_key":
                                            PUBLIC_KEY}}).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(one, range(6)))
    assert sorted(codes) == [200] * 2 + [403] * 4, codes
    assert usage_row("", "key_pairs", member.user_id) == 2


PUBLIC_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh"
              "2l9GKJl test")


@pytest.fixture
def noop_driver(configured):
    from nova_lite.db import session
    configured.set_override("driver", "noop", group="quota")
    session.reset()
    yield
    configured.clear_override("driver", group="quota")
    session.reset()


def test_noop_driver_enforces_nothing_and_shows_unlimited(
        client, member, admin_headers, image_id, noop_driver):
    set_quota(client, admin_headers, member.project_id, instances=1)
    boot(client, member.headers, image_id, min_count=3, max_count=3)
    shown = client.get(f"{COMPUTE}/os-quota-sets/{member.project_id}",
                       headers=member.headers).json["quota_set"]
    assert shown["instances"] == -1 and shown["cores"] == -1
    assert usage_row(member.project_id, "instances") == 3      # still counted


def test_quota_sync_recounts_drifted_usage(client, member, image_id):
    from nova_lite.db import quotas
    from nova_lite.db.session import transaction
    boot(client, member.headers, image_id, flavor="2", min_count=2, max_count=2)
    with transaction() as session:
        session.execute(text("UPDATE quota_usages SET in_use = 99 WHERE project_id = :p "
                             "AND resource IN ('instances', 'ram')"),
                        {"p": member.project_id})
    with transaction() as session:
        fixed = quotas.sync(session, member.project_id)
    assert (member.project_id, "", "instances", 99, 2) in fixed
    assert (member.project_id, "", "ram", 99, 4096) in fixed
    assert usage_row(member.project_id, "instances") == 2
    assert usage_row(member.project_id, "ram") == 4096
    with transaction() as session:
        assert quotas.sync(session, member.project_id) == []


def test_racing_ports_for_the_last_units(app, member, admin_headers):
    client = app.test_client()
    net_id = client.post(f"{NETWORK}/networks", headers=member.headers,
                         json={"network": {"name": "race"}}).json["network"]["id"]
    cidr = f"10.{uuid.uuid4().int % 200 + 20}.{uuid.uuid4().int % 250}.0/26"
    assert client.post(f"{NETWORK}/subnets", headers=member.headers, json={"subnet": {
        "network_id": net_id, "cidr": cidr, "ip_version": 4}}).status_code == 201
    set_network_quota(client, admin_headers, member.project_id, port=3)

    def one(_):
        return app.test_client().post(f"{NETWORK}/ports", headers=member.headers,
                                      json={"port": {"network_id": net_id}}).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(one, range(8)))
    assert sorted(codes) == [201] * 3 + [409] * 5, codes
    assert usage_row(member.project_id, "port") == 3
