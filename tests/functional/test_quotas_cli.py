"""Quotas through the real command lines: ``openstack quota show / set``,
``openstack limits show --absolute`` (python-openstackclient against the API
over HTTP; it asks Compute's os-quota-sets and Networking's quotas, and
skips the volume service, which the catalog does not list) and
``nova-lite-manage quota sync``."""
import subprocess
import uuid

import pytest
from sqlalchemy import text

from tests.fixtures import osc as osc_fixture
from tests.fixtures.credentials import ADMIN_PASSWORD, DEMO_PASSWORD
from tests.fixtures.quotas import Member


@pytest.fixture
def member(app):
    return Member(app, "qcli-" + uuid.uuid4().hex[:8])


def as_user(live_api, name, project):
    password = ADMIN_PASSWORD if name == "admin" else DEMO_PASSWORD
    return osc_fixture.Osc(live_api.url + "/identity/v3", name, password, project)


def table(rows):
    return {row["Resource"]: row["Limit"] for row in rows}


def test_openstack_quota_show_set_and_limits(live_api, member):
    user_name = member.project_name.removesuffix("-project")
    mine = as_user(live_api, user_name, member.project_name)
    admin = as_user(live_api, "admin", "admin")

    shown = table(mine("quota", "show", "-f", "json"))
    assert shown["instances"] == 10 and shown["cores"] == 20 and shown["ram"] == 51200
    assert shown["ports"] == 500 and shown["networks"] == 100
    # Networking's floating IP and security group quotas win over Compute's.
    assert shown["floating_ips"] == 50 and shown["security_groups"] == 10
    assert shown["key-pairs"] == 100 and shown["server-groups"] == 10
    assert not any("volume" in key or "gigabytes" in key for key in shown)

    admin("quota", "set", "--instances", "5", "--ports", "7", member.project_name)
    shown = table(admin("quota", "show", member.project_name, "-f", "json"))
    assert shown["instances"] == 5 and shown["ports"] == 7

    limits = {row["Name"]: row["Value"]          # openstacksdk's names for Nova's
              for row in mine("limits", "show", "--absolute", "-f", "json")}
    assert limits["max_total_instances"] == 5 and limits["total_instances_used"] == 0
    assert limits["max_total_keypairs"] == 100 and limits["max_total_ram_size"] == 51200

    usage = mine("quota", "show", "--usage", "-f", "json")
    ports = [row for row in usage if row["Resource"] == "ports"][0]
    assert ports["Limit"] == 7 and ports["In Use"] == 0


def test_nova_lite_manage_quota_sync(member, configured, tmp_path):
    from nova_lite.db.session import transaction
    with transaction() as session:
        session.execute(text(
            "INSERT INTO quota_usages (project_id, user_id, resource, in_use) "
            "VALUES (:p, '', 'instances', 42)"), {"p": member.project_id})
    config = tmp_path / "nova-lite.conf"
    config.write_text(f"[database]\nconnection = {configured.database.connection}\n")
    result = subprocess.run([osc_fixture.EXE.replace("openstack", "nova-lite-manage"),
                             "--config-file", str(config), "quota", "sync", "--project",
                             member.project_id], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 usage counter(s) corrected" in result.stdout
    assert "42" in result.stdout
    with transaction() as session:
        assert session.execute(text(
            "SELECT in_use FROM quota_usages WHERE project_id = :p AND user_id = '' "
            "AND resource = 'instances'"), {"p": member.project_id}).scalar() == 0
