"""GET /servers[/detail]: Nova's filters, sort_key/sort_dir and keyset
paging that is stable and complete under each sort (ties broken by uuid),
through the in-process API on rows written straight into the database (one
project of the module's own, so other tests' servers never mix in)."""
import datetime
import ipaddress
import random
import uuid

import pytest

from nova_lite.api.compute import server_queries
from nova_lite.db import models
from nova_lite.db.session import transaction
from tests.fixtures import quotas
from tests.fixtures.identity import make_user
from tests.fixtures.networks import make_network

BASE = "/compute/v2.1"
T0 = datetime.datetime(2026, 5, 1, tzinfo=datetime.UTC)


def at(headers, version):
    return dict(headers, **{"OpenStack-API-Version": f"compute {version}"})


@pytest.fixture(scope="module")
def fleet(app, admin_headers):
    """A member's project with 11 servers whose sort columns repeat and are
    sometimes NULL; two of them hold addresses (one v4, one v6)."""
    client = app.test_client()
    admin = admin_headers
    member = make_user(client, admin, prefix="sl")
    project = member["project_id"]
    rng = random.Random(17)
    rows = []
    with transaction() as session:
        quotas.unlimit(session, (), [project])
    with transaction() as session:
        for n in range(11):
            row = {
                "uuid": str(uuid.uuid4()), "name": f"vm-{n % 4}", "project_id": project,
                "user_id": ("u-a", "u-b")[n % 2], "flavor_id": ("1", "2")[n % 2],
                "flavor": {}, "vcpus": 1, "memory_mb": 64, "root_gb": 1,
                "vm_state": ("active", "stopped", "error")[n % 3],
                "task_state": (None, "rebooting")[n % 5 == 0],
                "power_state": n % 3,
                "key_name": (None, "k1", "k2")[n % 3],
                "availability_zone": ("az1", "az2", None)[n % 3],
                "host": (None, "h1", "h2", "h1")[n % 4], "node": (None, "n1")[n % 2],
                "image_ref": str(uuid.UUID(int=n % 3)),
                "created_at": T0 + datetime.timedelta(minutes=n // 3),   # ties
                "updated_at": T0 + datetime.timedelta(hours=n),
                "launched_at": None if n % 4 == 0 else T0 + datetime.timedelta(
                    minutes=rng.randint(0, 3)),
                "terminated_at": None, "locked": n == 7,
            }
            session.add(models.Instance(**row))
            rows.append(row)
    net4 = ipaddress.ip_network(f"198.18.{rng.randint(0, 250)}.0/28")
    _, subnet = make_network(transaction, project, str(net4))
    with transaction() as session:
        port = models.Port(network_id=session.get(models.Subnet, subnet).network_id,
                           project_id=project, mac_address=_mac(rng),
                           device_id=rows[3]["uuid"], device_owner="compute:nova")
        session.add(port)
        session.flush()
        allocation = session.get(models.IpAllocation, (subnet, str(net4[5])))
        allocation.port_id = port.id
        port6 = models.Port(network_id=port.network_id, project_id=project,
                            mac_address=_mac(rng), device_id=rows[4]["uuid"],
                            device_owner="compute:nova")
        session.add(port6)
        session.flush()
        session.add(models.IpAllocation(subnet_id=subnet, address="fd00:5:1::77",
                                        port_id=port6.id, pooled=False))
    return {"project": project, "rows": rows, "member": member, "admin": admin,
            "ip4": str(net4[5])}


def _mac(rng):
    return "fa:16:3e:" + ":".join(f"{rng.randint(0, 255):02x}" for _ in range(3))


def _ids(client, headers, query):
    reply = client.get(f"{BASE}/servers?{query}", headers=headers)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return [s["id"] for s in reply.get_json()["servers"]]


def _walk(client, headers, query, limit=2):
    """Every page of the query, following the marker of each page's last server."""
    seen, marker = [], None
    while True:
        page = _ids(client, headers, f"{query}&limit={limit}"
                    + (f"&marker={marker}" if marker else ""))
        seen += page
        if len(page) < limit:
            return seen
        marker = page[-1]


def _expected(rows, sorts):
    """The rows' uuids in PostgreSQL's order for [(column, dir)] + uuid in
    the first direction: NULLs last ascending, first descending."""
    def key_for(column, descending):
        def key(row):
            value = row[column]
            return (value is None, value if value is not None else 0)
        return key, descending
    ordered = sorted(rows, key=lambda r: r["uuid"], reverse=sorts[0][1] == "desc")
    for column, direction in reversed(sorts):
        key, descending = key_for(column, direction == "desc")
        ordered = sorted(ordered, key=key, reverse=descending)
    return [r["uuid"] for r in ordered]


ADMIN_QUERY = "all_tenants=1&project_id={project}"
KEYS = {"created_at": "created_at", "updated_at": "updated_at", "display_name": "name",
        "uuid": "uuid", "vm_state": "vm_state", "task_state": "task_state",
        "power_state": "power_state", "launched_at": "launched_at", "host": "host",
        "node": "node", "key_name": "key_name", "availability_zone": "availability_zone",
        "user_id": "user_id", "image_ref": "image_ref", "instance_type_id": "flavor_id"}


@pytest.mark.parametrize("direction", ["asc", "desc"])
@pytest.mark.parametrize("key", sorted(KEYS))
def test_each_sort_pages_stably_and_completely(client, fleet, key, direction):
    query = ADMIN_QUERY.format(**fleet) + f"&sort_key={key}&sort_dir={direction}"
    expected = _expected(fleet["rows"], [(KEYS[key], direction)])
    assert _ids(client, fleet["admin"], query) == expected
    assert _walk(client, fleet["admin"], query) == expected


def test_several_sort_keys_with_mixed_directions(client, fleet):
    query = (ADMIN_QUERY.format(**fleet) + "&sort_key=vm_state&sort_dir=asc"
             "&sort_key=host&sort_dir=desc&sort_key=display_name")
    expected = _expected(fleet["rows"], [("vm_state", "asc"), ("host", "desc"),
                                         ("name", "desc")])
    assert _walk(client, fleet["admin"], query, limit=3) == expected


def test_default_order_is_newest_first_for_the_member(client, fleet):
    expected = _expected(fleet["rows"], [("created_at", "desc")])
    assert _walk(client, fleet["member"]["headers"], "x=1") == expected
    # host is an admin's sort key: a member's is ignored
    assert _ids(client, fleet["member"]["headers"], "sort_key=host&sort_dir=asc") == expected


@pytest.mark.parametrize("query, reason", [
    ("sort_key=bogus", "sort_key"), ("sort_key=uuid&sort_dir=up", "sort_dir"),
    ("sort_dir=asc", "sort_dir"), ("locked=perhaps", "locked"),
    ("changes-since=2026-05-02T00:00:00Z&changes-before=2026-05-01T00:00:00Z",
     "changes-since"), ("ip=(", "ip"), ("changes-before=soon", "changes-before"),
])
def test_bad_values_are_400(client, fleet, query, reason):
    reply = client.get(f"{BASE}/servers?{ADMIN_QUERY.format(**fleet)}&{query}",
                       headers=fleet["admin"])
    assert reply.status_code == 400
    assert reason in reply.get_json()["badRequest"]["message"]


def test_unknown_filters_refused_for_admins_ignored_for_members(client, fleet):
    reply = client.get(f"{BASE}/servers?flavour=1", headers=fleet["admin"])
    assert reply.status_code == 400 and "flavour" in reply.get_json()["badRequest"]["message"]
    assert len(_ids(client, fleet["member"]["headers"], "flavour=1")) == 11


def _subset(fleet, **match):
    return sorted(r["uuid"] for r in fleet["rows"]
                  if all(match[k](r[k]) if callable(match[k]) else r[k] == match[k]
                         for k in match))


@pytest.mark.parametrize("query, match", [
    ("user_id=u-a", {"user_id": "u-a"}),
    ("key_name=k1", {"key_name": "k1"}),
    ("availability_zone=az2", {"availability_zone": "az2"}),
    ("vm_state=stopped", {"vm_state": "stopped"}),
    ("vm_state=stopped&vm_state=error", {"vm_state": lambda v: v in ("stopped", "error")}),
    ("task_state=rebooting", {"task_state": "rebooting"}),
    ("locked=true", {"locked": True}),
    ("locked=false", {"locked": False}),
    ("host=h1", {"host": "h1"}),
    ("node=n1", {"node": "n1"}),
    ("power_state=2", {"power_state": 2}),
    ("name=^vm-[12]$", {"name": lambda v: v in ("vm-1", "vm-2")}),
    ("changes-since=2026-05-01T03:00:00Z&changes-before=2026-05-01T05:00:00Z",
     {"updated_at": lambda v: T0 + datetime.timedelta(hours=3) <= v
      <= T0 + datetime.timedelta(hours=5)}),
    ("changes-before=2026-05-01T01:00:00Z",
     {"updated_at": lambda v: v <= T0 + datetime.timedelta(hours=1)}),
])
def test_admin_filters(client, fleet, query, match):
    found = _ids(client, fleet["admin"], f"{ADMIN_QUERY.format(**fleet)}&{query}")
    assert sorted(found) == _subset(fleet, **match)
    assert found                                      # each picks something


def test_ip_filters(client, fleet):
    base = ADMIN_QUERY.format(**fleet)
    ip4 = fleet["ip4"].replace(".", r"\.")
    assert _ids(client, fleet["admin"], f"{base}&ip=^{ip4}$") == [fleet["rows"][3]["uuid"]]
    assert _ids(client, fleet["admin"], f"{base}&ip6=fd00:5:1::77") == \
        [fleet["rows"][4]["uuid"]]
    assert _ids(client, fleet["admin"], f"{base}&ip=fd00:5:1") == []   # v6 is not ip
    # a member may use ip at 2.1
    assert _ids(client, fleet["member"]["headers"], f"ip=^{ip4}$") == \
        [fleet["rows"][3]["uuid"]]


def test_project_id_filter_is_what_the_sdk_sends(client, fleet, admin_headers):
    """`openstack server list --project X` sends all_tenants and project_id."""
    found = _ids(client, admin_headers, f"all_tenants=True&project_id={fleet['project']}")
    assert sorted(found) == sorted(r["uuid"] for r in fleet["rows"])


def test_member_filters_follow_the_microversion(client, fleet):
    member = fleet["member"]["headers"]
    every = sorted(r["uuid"] for r in fleet["rows"])
    assert sorted(_ids(client, member, "user_id=u-a")) == every          # 2.1: ignored
    assert sorted(_ids(client, at(member, "2.83"), "user_id=u-a")) == \
        _subset(fleet, user_id="u-a")
    assert sorted(_ids(client, member, "locked=true")) == every
    assert _ids(client, at(member, "2.73"), "locked=true") == [fleet["rows"][7]["uuid"]]
    # host stays an admin's filter
    assert sorted(_ids(client, at(member, "2.90"), "host=h1")) == every


def test_sort_keys_cover_the_indexes():
    """Every sort key the API sorts by has its (key, uuid) index on live rows."""
    indexed = set(models.compute.INDEXED_SORT_COLUMNS) | {"uuid", "updated_at"}
    assert {c.key for c in server_queries.SORT_KEYS.values()} <= indexed
