"""The operator's views through the real command lines, against the
in-process API over HTTP (``live_api``: no worker services are needed, the
rows are written straight into the database):

- ``openstack compute service list / set --disable``, ``hypervisor list /
  show / stats show``, ``usage list / show``, ``server list --project
  --user --ip --sort-column`` (python-openstackclient);
- ``nova-lite usage list / show``;
- ``nova-lite-manage service disable / enable`` and ``host list``."""
import datetime
import subprocess
import uuid

import pytest
from sqlalchemy import select

from nova_lite.db import models
from nova_lite.db.session import transaction
from tests.fixtures import cli as nl_cli
from tests.fixtures import osc as osc_fixture
from tests.fixtures.credentials import ADMIN_PASSWORD
from tests.fixtures.networks import make_network
from tests.fixtures.nodes import make_node
from tests.fixtures.quotas import Member

YESTERDAY = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1))


@pytest.fixture(scope="module")
def scene(app):
    """A compute host and a member's project with two servers on it (one
    holding an address), the first a day old."""
    tag = uuid.uuid4().hex[:6]
    host = f"opcli-{tag}"
    make_node(host, vcpus=16, memory_mb=16384, disk=500)
    member = Member(app, f"opcli-{tag}")
    _, subnet = make_network(transaction, member.project_id,
                             f"198.19.{int(tag[:2], 16)}.0/28")
    servers = []
    with transaction() as session:
        for n, user in enumerate((member.user_id, "someone-else")):
            server = models.Instance(
                uuid=str(uuid.uuid4()), name=f"opcli-vm{n}", project_id=member.project_id,
                user_id=user, flavor_id="1", flavor={"name": "m1.tiny"}, vcpus=1,
                memory_mb=512, root_gb=1, vm_state="active", power_state=1, host=host,
                node=host, created_at=YESTERDAY, launched_at=YESTERDAY)
            session.add(server)
            servers.append(server.uuid)
        network_id = session.get(models.Subnet, subnet).network_id
        port = models.Port(network_id=network_id, project_id=member.project_id,
                           mac_address="fa:16:3e:%02x:%02x:%02x" % tuple(
                               bytes.fromhex(tag[:6])),
                           device_id=servers[0], device_owner="compute:nova")
        session.add(port)
        session.flush()
        address = session.scalars(select(models.IpAllocation).where(
            models.IpAllocation.subnet_id == subnet,
            models.IpAllocation.port_id.is_(None)).limit(1)).one()
        address.port_id = port.id
        ip = str(address.address)
    return {"host": host, "member": member, "servers": servers, "ip": ip}


@pytest.fixture(scope="module")
def admin(live_api):
    return osc_fixture.Osc(live_api.url + "/identity/v3", "admin", ADMIN_PASSWORD, "admin")


def test_openstack_operator_commands(admin, scene):
    """One openstack command per view (each run costs seconds of CPU)."""
    host, member, servers = scene["host"], scene["member"], scene["servers"]
    admin("compute", "service", "set", "--disable", "--disable-reason", "cli test",
          host, "nova-lite-compute")
    (row,) = admin("compute", "service", "list", "--host", host, "--long", "-f", "json")
    assert (row["Binary"], row["Host"], row["Status"], row["State"],
            row["Disabled Reason"]) == ("nova-lite-compute", host, "disabled", "up",
                                        "cli test")

    # Up to 2.87 a hypervisor shows its resources and statistics are served
    # (2.88 removed both; the client asks for the newest it knows otherwise).
    listed = admin("--os-compute-api-version", "2.87", "hypervisor", "list", "--long",
                   "-f", "json")
    (mine,) = [r for r in listed if r["Hypervisor Hostname"] == host]
    assert mine["State"] == "up" and mine["vCPUs"] == 16
    stats = admin("--os-compute-api-version", "2.87", "hypervisor", "stats", "show",
                  "-f", "json")
    assert stats["count"] >= 1 and stats["vcpus"] >= 16
    (latest,) = [r for r in admin("hypervisor", "list", "--long", "-f", "json")
                 if r["Hypervisor Hostname"] == host]
    assert latest["State"] == "up" and "vCPUs" not in latest

    start = (YESTERDAY - datetime.timedelta(days=1)).strftime("%Y-%m-%d")
    rows = admin("usage", "list", "--start", start, "-f", "json")
    (usage,) = [r for r in rows if r["Project"] in (member.project_id,
                                                      member.project_name)]
    assert len(usage["Servers"]) == 2 and float(usage["CPU Hours"]) > 40   # json: the list

    # the SDK sends project_id (with all_tenants), user_id and ip
    rows = admin("server", "list", "--all-projects", "--project", member.project_id,
                 "--user", member.user_id, "--ip", scene["ip"].replace(".", r"\.") + "$",
                 "-f", "json")
    assert [r["ID"] for r in rows] == [servers[0]]
    # (--sort-column is the client's own sorting: this openstackclient sends
    # no sort_key; the API's sorts are test_server_list's)
    rows = admin("server", "list", "--all-projects", "--project", member.project_id,
                 "--sort-column", "Name", "--sort-descending", "-f", "json")
    assert [r["Name"] for r in rows] == ["opcli-vm1", "opcli-vm0"]


def test_nova_lite_usage(live_api, scene):
    member = scene["member"]
    env = {"OS_AUTH_URL": live_api.url + "/identity/v3", "OS_USERNAME":
           member.project_name.removesuffix("-project"), "OS_PASSWORD": "demo-secret",
           "OS_PROJECT_NAME": member.project_name, "OS_USER_DOMAIN_NAME": "Default",
           "OS_PROJECT_DOMAIN_NAME": "Default"}
    from tests.fixtures.credentials import DEMO_PASSWORD
    env["OS_PASSWORD"] = DEMO_PASSWORD
    shown = nl_cli.as_json(env, "usage", "show")
    assert shown["tenant_id"] == member.project_id and shown["servers"] == 2
    error = nl_cli.fails(env, "usage", "list")             # every project's: admin only
    assert "403" in error or "Policy" in error
    assert "Invalid date" in nl_cli.fails(env, "usage", "show", "--start", "someday")


def test_nova_lite_manage_service_and_host(configured, scene, tmp_path):
    config = tmp_path / "nova-lite.conf"
    config.write_text(f"[database]\nconnection = {configured.database.connection}\n")
    manage = osc_fixture.EXE.replace("openstack", "nova-lite-manage")

    def run(*args):
        result = subprocess.run([manage, "--config-file", str(config), *args],
                                capture_output=True, text=True, timeout=120, check=False,
                                env={"COLUMNS": "250", "PATH": "/usr/bin:/bin"})
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    host = scene["host"]
    assert "disabled (rack 9)" in run("service", "disable", host, "--reason", "rack 9")
    with transaction() as session:
        service = session.scalars(select(models.Service).where(
            models.Service.host == host)).one()
        assert service.disabled and service.disabled_reason == "rack 9"
    listed = run("host", "list")
    line = next(line for line in listed.splitlines() if host in line)
    assert "disabled" in line and "0/16" in line
    assert "enabled" in run("service", "enable", host)
    with transaction() as session:
        assert not session.scalars(select(models.Service.disabled).where(
            models.Service.host == host)).one()
    result = subprocess.run([manage, "--config-file", str(config), "service", "disable",
                             "no-such-host"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "no nova-lite-compute service" in result.stdout
