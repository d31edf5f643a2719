"""os-services, os-hypervisors and os-simple-tenant-usage through the
in-process API: bodies as Nova's, admin only where Nova says so, bad input a
400, and a disabled compute host left out of scheduling.

Later microversions (2.11, 2.33, 2.53, 2.88) are asked for as clients ask."""
import datetime
import uuid

import pytest
from sqlalchemy import select, text

from nova_lite.db import models
from nova_lite.db.session import transaction
from nova_lite.scheduler import candidates
from nova_lite.scheduler.request import Request
from tests.fixtures.nodes import make_node

BASE = "/compute/v2.1"


def at(headers, version):
    return dict(headers, **{"OpenStack-API-Version": f"compute {version}"})


@pytest.fixture(scope="module")
def hosts(app):
    tag = "ov-" + uuid.uuid4().hex[:6]
    names = [f"{tag}-{n}" for n in range(3)]
    for name in names:
        make_node(name, vcpus=8, memory_mb=8192, disk=200)
    return names


def _service(client, headers, host):
    body = client.get(f"{BASE}/os-services?host={host}", headers=headers).get_json()
    (found,) = body["services"]
    return found


def test_service_list_filters_and_shape(client, admin_headers, hosts):
    body = client.get(f"{BASE}/os-services?binary=nova-lite-compute&host={hosts[0]}",
                      headers=admin_headers).get_json()
    (service,) = body["services"]
    assert service["host"] == hosts[0] and service["binary"] == "nova-lite-compute"
    assert service["status"] == "enabled" and service["state"] == "up"
    assert service["zone"] == "nova" and isinstance(service["id"], int)
    assert "forced_down" not in service                  # 2.11
    everything = client.get(f"{BASE}/os-services?binary=nova-lite-compute",
                            headers=admin_headers).get_json()["services"]
    assert {h for h in hosts} <= {s["host"] for s in everything}
    assert client.get(f"{BASE}/os-services?host=nowhere-{uuid.uuid4().hex}",
                      headers=admin_headers).get_json() == {"services": []}


def test_services_are_admin_only(client, demo_headers, hosts):
    assert client.get(f"{BASE}/os-services", headers=demo_headers).status_code == 403
    reply = client.put(f"{BASE}/os-services/disable", headers=demo_headers,
                       json={"host": hosts[0], "binary": "nova-lite-compute"})
    assert reply.status_code == 403
    assert "os_compute_api:os-services:update" in reply.get_json()["forbidden"]["message"]


def test_disable_with_reason_then_enable_and_the_scheduler_skips_it(
        client, admin_headers, hosts):
    host = hosts[1]
    reply = client.put(f"{BASE}/os-services/disable-log-reason", headers=admin_headers,
                       json={"host": host, "binary": "nova-lite-compute",
                             "disabled_reason": "maintenance"})
    assert reply.status_code == 200
    assert reply.get_json() == {"service": {"host": host, "binary": "nova-lite-compute",
                                            "status": "disabled",
                                            "disabled_reason": "maintenance"}}
    service = _service(client, admin_headers, host)
    assert service["status"] == "disabled" and service["disabled_reason"] == "maintenance"
    spec = Request(instance_uuid=str(uuid.uuid4()), vcpus=1, memory_mb=64, disk_gb=1)
    with transaction() as session:
        seen = {h.host for h in candidates.query(session, spec, limit=100000)}
    assert host not in seen and hosts[0] in seen
    reply = client.put(f"{BASE}/os-services/enable", headers=admin_headers,
                       json={"host": host, "binary": "nova-lite-compute"})
    assert reply.get_json()["service"]["status"] == "enabled"
    assert _service(client, admin_headers, host)["disabled_reason"] is None
    with transaction() as session:
        assert host in {h.host for h in candidates.query(session, spec, limit=100000)}


@pytest.mark.parametrize("action, body", [
    ("disable", {"host": "x"}),                                   # no binary
    ("disable", {"host": "x", "binary": "nova-lite-compute", "extra": 1}),
    ("disable-log-reason", {"host": "x", "binary": "nova-lite-compute"}),
    ("disable-log-reason", {"host": "x", "binary": "b", "disabled_reason": "r" * 256}),
])
def test_bad_service_updates_are_400(client, admin_headers, action, body):
    reply = client.put(f"{BASE}/os-services/{action}", headers=admin_headers, json=body)
    assert reply.status_code == 400
    assert reply.get_json()["badRequest"]["code"] == 400


def test_unknown_service_and_action_are_404(client, admin_headers):
    reply = client.put(f"{BASE}/os-services/disable", headers=admin_headers,
                       json={"host": "nowhere", "binary": "nova-lite-compute"})
    assert reply.status_code == 404
    assert client.put(f"{BASE}/os-services/reboot", headers=admin_headers,
                      json={}).status_code == 404
    # force-down is 2.11's
    assert client.put(f"{BASE}/os-services/force-down", headers=admin_headers,
                      json={"host": "x", "binary": "y", "forced_down": True}
                      ).status_code == 404


def test_force_down_at_2_11(client, admin_headers, hosts):
    host = hosts[2]
    headers = at(admin_headers, "2.11")
    reply = client.put(f"{BASE}/os-services/force-down", headers=headers,
                       json={"host": host, "binary": "nova-lite-compute",
                             "forced_down": True})
    assert reply.get_json() == {"service": {"host": host, "binary": "nova-lite-compute",
                                            "forced_down": True}}
    service = _service(client, headers, host)
    assert service["forced_down"] is True and service["state"] == "down"
    client.put(f"{BASE}/os-services/force-down", headers=headers,
               json={"host": host, "binary": "nova-lite-compute", "forced_down": False})
    assert _service(client, headers, host)["state"] == "up"


def test_update_by_uuid_at_2_53(client, admin_headers, hosts):
    headers = at(admin_headers, "2.53")
    service = _service(client, headers, hosts[2])
    assert uuid.UUID(service["id"])
    reply = client.put(f"{BASE}/os-services/{service['id']}", headers=headers,
                       json={"status": "disabled", "disabled_reason": "rack 4"})
    assert reply.status_code == 200
    changed = reply.get_json()["service"]
    assert changed["status"] == "disabled" and changed["disabled_reason"] == "rack 4"
    assert changed["id"] == service["id"]
    # a reason without disabling, and the old action URLs, are refused
    assert client.put(f"{BASE}/os-services/{service['id']}", headers=headers,
                      json={"status": "enabled", "disabled_reason": "x"}).status_code == 400
    assert client.put(f"{BASE}/os-services/disable", headers=headers,
                      json={"host": hosts[2], "binary": "nova-lite-compute"}
                      ).status_code == 400
    reply = client.put(f"{BASE}/os-services/{service['id']}", headers=headers,
                       json={"status": "enabled"})
    assert reply.get_json()["service"]["status"] == "enabled"


def test_delete_service(client, admin_headers):
    host = "ov-gone-" + uuid.uuid4().hex[:6]
    make_node(host)
    service = _service(client, admin_headers, host)
    assert client.delete(f"{BASE}/os-services/abc", headers=admin_headers
                         ).status_code == 400
    with transaction() as session:
        session.add(models.Instance(
            uuid=str(uuid.uuid4()), name="busy", project_id="p-ov", user_id="u",
            flavor_id="1", flavor={}, vcpus=1, memory_mb=64, root_gb=1, vm_state="active",
            host=host))
    assert client.delete(f"{BASE}/os-services/{service['id']}",
                         headers=admin_headers).status_code == 409
    with transaction() as session:
        session.execute(text("UPDATE instances SET deleted = true WHERE host = :h"),
                        {"h": host})
    assert client.delete(f"{BASE}/os-services/{service['id']}",
                         headers=admin_headers).status_code == 204
    assert client.get(f"{BASE}/os-services?host={host}",
                      headers=admin_headers).get_json() == {"services": []}
    with transaction() as session:
        assert session.scalar(select(models.ComputeNode.id).where(
            models.ComputeNode.host == host)) is None
    assert client.delete(f"{BASE}/os-services/{service['id']}",
                         headers=admin_headers).status_code == 404


# -- os-hypervisors ---------------------------------------------------------------------
def _node_id(host):
    with transaction() as session:
        return session.scalar(select(models.ComputeNode.id).where(
            models.ComputeNode.host == host))


def test_hypervisor_list_detail_show(client, admin_headers, hosts):
    listed = client.get(f"{BASE}/os-hypervisors", headers=admin_headers).get_json()
    mine = [h for h in listed["hypervisors"] if h["hypervisor_hostname"] in hosts]
    assert len(mine) == 3 and set(mine[0]) == {"id", "hypervisor_hostname", "state",
                                                "status"}
    detail = client.get(f"{BASE}/os-hypervisors/detail", headers=admin_headers).get_json()
    one = next(h for h in detail["hypervisors"] if h["hypervisor_hostname"] == hosts[0])
    assert one["vcpus"] == 8 and one["memory_mb"] == 8192 and one["local_gb"] == 200
    assert one["free_ram_mb"] == 8192 - one["memory_mb_used"]
    assert one["service"]["host"] == hosts[0] and one["state"] == "up"
    shown = client.get(f"{BASE}/os-hypervisors/{one['id']}",
                       headers=admin_headers).get_json()["hypervisor"]
    assert shown == one
    assert client.get(f"{BASE}/os-hypervisors/999999999", headers=admin_headers
                      ).status_code == 404


def test_hypervisors_are_admin_only(client, demo_headers):
    for path in ("", "/detail", "/statistics", "/1", "/x/servers", "/x/search"):
        assert client.get(f"{BASE}/os-hypervisors{path}",
                          headers=demo_headers).status_code == 403, path


def test_hypervisor_statistics_sum_the_nodes(client, admin_headers, hosts):
    stats = client.get(f"{BASE}/os-hypervisors/statistics",
                       headers=admin_headers).get_json()["hypervisor_statistics"]
    with transaction() as session:
        count, vcpus = session.execute(text(
            "SELECT count(*), sum(vcpus) FROM compute_nodes")).one()
    assert stats["count"] == count and stats["vcpus"] == vcpus
    assert stats["free_ram_mb"] == stats["memory_mb"] - stats["memory_mb_used"]


def test_hypervisor_servers_and_search(client, admin_headers, hosts):
    with transaction() as session:
        server = models.Instance(
            uuid=str(uuid.uuid4()), name="on-h0", project_id="p-ov", user_id="u",
            flavor_id="1", flavor={}, vcpus=1, memory_mb=64, root_gb=1,
            vm_state="active", host=hosts[0])
        session.add(server)
    body = client.get(f"{BASE}/os-hypervisors/{hosts[0]}/servers",
                      headers=admin_headers).get_json()
    (found,) = body["hypervisors"]
    assert found["servers"] == [{"uuid": server.uuid, "name": "on-h0"}]
    tag = hosts[0].rsplit("-", 1)[0]
    body = client.get(f"{BASE}/os-hypervisors/{tag}/servers",
                      headers=admin_headers).get_json()
    assert len(body["hypervisors"]) == 3
    assert sum("servers" in h for h in body["hypervisors"]) == 1   # none: left out
    searched = client.get(f"{BASE}/os-hypervisors/{tag}/search",
                          headers=admin_headers).get_json()["hypervisors"]
    assert sorted(h["hypervisor_hostname"] for h in searched) == sorted(hosts)
    assert client.get(f"{BASE}/os-hypervisors/nothing-{uuid.uuid4().hex}/search",
                      headers=admin_headers).status_code == 404
    with transaction() as session:
        session.execute(text("UPDATE instances SET deleted = true WHERE uuid = :u"),
                        {"u": server.uuid})


def test_hypervisor_paging_2_33_and_uuids_2_53(client, admin_headers, hosts):
    headers = at(admin_headers, "2.33")
    seen, url = [], f"{BASE}/os-hypervisors?limit=2"
    while url:
        body = client.get(url, headers=headers).get_json()
        assert len(body["hypervisors"]) <= 2
        seen += [h["id"] for h in body["hypervisors"]]
        nxt = body.get("hypervisors_links")
        url = nxt[0]["href"].split("localhost", 1)[-1] if nxt else None
    with transaction() as session:
        every = session.scalars(text("SELECT id FROM compute_nodes ORDER BY id")).all()
    assert seen == every
    assert client.get(f"{BASE}/os-hypervisors?marker=999999999",
                      headers=headers).status_code == 400
    assert client.get(f"{BASE}/os-hypervisors?limit=-1", headers=headers).status_code == 400

    headers = at(admin_headers, "2.53")
    body = client.get(f"{BASE}/os-hypervisors/detail?hypervisor_hostname_pattern={hosts[0]}"
                      "&with_servers=true", headers=headers).get_json()
    (one,) = body["hypervisors"]
    assert uuid.UUID(one["id"]) and uuid.UUID(one["service"]["id"])
    assert one["servers"] == []
    assert client.get(f"{BASE}/os-hypervisors/{one['id']}", headers=headers
                      ).get_json()["hypervisor"]["hypervisor_hostname"] == hosts[0]
    assert client.get(f"{BASE}/os-hypervisors/1", headers=headers).status_code == 400
    assert client.get(f"{BASE}/os-hypervisors/x/servers", headers=headers
                      ).status_code == 404
    assert client.get(f"{BASE}/os-hypervisors?with_servers=maybe",
                      headers=headers).status_code == 400

    headers = at(admin_headers, "2.88")
    detail = client.get(f"{BASE}/os-hypervisors/{one['id']}", headers=headers
                        ).get_json()["hypervisor"]
    assert "vcpus" not in detail and "uptime" in detail
    assert client.get(f"{BASE}/os-hypervisors/statistics",
                      headers=headers).status_code == 404


# -- os-simple-tenant-usage -------------------------------------------------------------
@pytest.fixture(scope="module")
def usage_project(app):
    """Two servers of a project of its own: one ran 10:00-12:00 (deleted),
    one from 11:00 on; 2 vCPUs, 512 MB, 10 GB each."""
    project = "p-usage-" + uuid.uuid4().hex[:6]
    day = datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC)
    rows = []
    with transaction() as session:
        for name, began, ended in (("a", 10, 12), ("b", 11, None)):
            row = models.Instance(
                uuid=str(uuid.uuid4()), name=name, project_id=project, user_id="u",
                flavor_id="1", flavor={"name": "m1.test"}, vcpus=2, memory_mb=512,
                root_gb=10, vm_state="deleted" if ended else "active",
                created_at=day.replace(hour=began), launched_at=day.replace(hour=began),
                terminated_at=day.replace(hour=ended) if ended else None,
                deleted_at=day.replace(hour=ended) if ended else None,
                deleted=bool(ended))
            session.add(row)
            rows.append(row.uuid)
    return project, rows


def test_usage_show_for_a_period(client, admin_headers, usage_project):
    project, (a, b) = usage_project
    reply = client.get(f"{BASE}/os-simple-tenant-usage/{project}"
                       "?start=2026-03-01T11:00:00&end=2026-03-01T13:00:00",
                       headers=admin_headers)
    usage = reply.get_json()["tenant_usage"]
    assert usage["tenant_id"] == project
    assert usage["total_hours"] == pytest.approx(3.0)          # a 1 h, b 2 h
    assert usage["total_vcpus_usage"] == pytest.approx(6.0)
    assert usage["total_memory_mb_usage"] == pytest.approx(1536.0)
    assert usage["total_local_gb_usage"] == pytest.approx(30.0)
    by_id = {s["instance_id"]: s for s in usage["server_usages"]}
    assert by_id[a]["state"] == "terminated" and by_id[a]["hours"] == pytest.approx(1.0)
    assert by_id[b]["ended_at"] is None and by_id[b]["flavor"] == "m1.test"
    # a period before both: nothing
    empty = client.get(f"{BASE}/os-simple-tenant-usage/{project}"
                       "?start=2026-02-01T00:00:00&end=2026-02-02T00:00:00",
                       headers=admin_headers).get_json()
    assert empty == {"tenant_usage": {}}


def test_usage_list_is_admin_and_sums_by_project(client, admin_headers, demo_headers,
                                                 usage_project):
    project, _ = usage_project
    query = "?start=2026-03-01T00:00:00&end=2026-03-02T00:00:00"
    body = client.get(f"{BASE}/os-simple-tenant-usage{query}",
                      headers=admin_headers).get_json()
    mine = next(u for u in body["tenant_usages"] if u["tenant_id"] == project)
    assert mine["total_hours"] == pytest.approx(2.0 + 13.0)
    assert "server_usages" not in mine
    detailed = client.get(f"{BASE}/os-simple-tenant-usage{query}&detailed=True",
                          headers=admin_headers).get_json()
    mine = next(u for u in detailed["tenant_usages"] if u["tenant_id"] == project)
    assert len(mine["server_usages"]) == 2
    assert client.get(f"{BASE}/os-simple-tenant-usage{query}",
                      headers=demo_headers).status_code == 403


def test_usage_show_is_own_project_for_members(client, demo_headers, usage_project):
    project, _ = usage_project
    assert client.get(f"{BASE}/os-simple-tenant-usage/{project}",
                      headers=demo_headers).status_code == 403
    own = _project_of(client, demo_headers)
    reply = client.get(f"{BASE}/os-simple-tenant-usage/{own}", headers=demo_headers)
    assert reply.status_code == 200


def _project_of(client, headers):
    reply = client.get("/identity/v3/auth/tokens",
                       headers=dict(headers, **{"X-Subject-Token": headers["X-Auth-Token"]}))
    return reply.get_json()["token"]["project"]["id"]


@pytest.mark.parametrize("query", ["?start=yesterday", "?end=2026-13-01T00:00:00",
                                   "?start=2026-03-02T00:00:00&end=2026-03-01T00:00:00"])
def test_bad_usage_periods_are_400(client, admin_headers, query):
    reply = client.get(f"{BASE}/os-simple-tenant-usage{query}", headers=admin_headers)
    assert reply.status_code == 400


def test_usage_paging_2_40(client, admin_headers, usage_project):
    project, rows = usage_project
    headers = at(admin_headers, "2.40")
    url = (f"{BASE}/os-simple-tenant-usage/{project}?start=2026-03-01T00:00:00"
           "&end=2026-03-02T00:00:00&limit=1")
    first = client.get(url, headers=headers).get_json()
    assert len(first["tenant_usage"]["server_usages"]) == 1
    href = first["tenant_usage_links"][0]["href"]
    marker = href.split("marker=")[1]
    second = client.get(url + f"&marker={marker}", headers=headers).get_json()
    got = [first["tenant_usage"]["server_usages"][0]["instance_id"],
           second["tenant_usage"]["server_usages"][0]["instance_id"]]
    assert sorted(got) == sorted(rows)
    assert client.get(url + "&marker=nope", headers=headers).status_code == 400
