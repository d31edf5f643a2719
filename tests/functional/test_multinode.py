"""A nova-lite cluster on five machines, deployed by ansible/site.yml over SSH.

The machines are namespaces of this one (tests/fixtures/machines.py: own
network, mounts, host name, PIDs, sshd), deployed exactly as an operator
would deploy real ones, from the same playbooks and an inventory written here:

    ctl1  database, messaging, controllers      PostgreSQL, RabbitMQ, api/conductor/scheduler
    ctl2  messaging, controllers                RabbitMQ, api/conductor/scheduler
    ctl3  messaging, loadbalancers              RabbitMQ, HAProxy (the endpoint)
    cmp1  computes                              libvirtd, nova-lite-compute, data plane
    cmp2  computes
    cmp3  computes (added later by add-compute.yml)

Every check goes through the one endpoint with the ``openstack`` CLI (or the
same API over HTTP for polling). The tests run in order and share the
cluster; the whole module takes several minutes and prints what it measured.

Needs root, sshd (openssh-server), HAProxy, supervisor, RabbitMQ, PostgreSQL,
libvirt/QEMU and ansible-core (tools/run-tests.sh installs them all).
"""
import os
import re
import shutil
import subprocess
import threading
import time

import httpx
import pytest

from tests.fixtures.machines import REPO, SEGMENTS, Lab
from tests.fixtures.osc import Osc
from tests.fixtures.waiting import wait_for

pytestmark = pytest.mark.timeout(1500)

BUILD_IMAGE = os.path.join(REPO, "devstack", "tools", "build-image.sh")
EXT = SEGMENTS["ext"]
PUBLIC_CIDR = str(EXT)
PUBLIC_GATEWAY = str(EXT.network_address + 1)       # the deploy machine: the "upstream router"
FIGURES = {}


def _need():
    if os.geteuid() != 0:
        pytest.skip("the multi-node lab needs root (namespaces, bridges)")
    missing = [b for b in ("/usr/sbin/sshd", "/usr/sbin/haproxy", "/usr/bin/supervisord",
                           "/usr/sbin/rabbitmq-server", "/usr/sbin/libvirtd", "/usr/bin/unshare",
                           "/usr/bin/nsenter")
               if not os.path.exists(b)]
    if missing:
        pytest.fail(f"missing {missing}: tools/run-tests.sh installs them", pytrace=False)


class Cluster:
    def __init__(self, lab):
        self.lab = lab
        self.credentials = os.path.join(lab.dir, "credentials")
        self.endpoint = f"http://{lab.machines['ctl3'].ip}:8774"
        self.auth_url = self.endpoint + "/identity/v3"

    def password(self, name):
        return open(os.path.join(self.credentials, f"{name}_password")).read().split()[0]

    @property
    def admin(self):
        return Osc(self.auth_url, "admin", self.password("admin"), "admin")

    @property
    def demo(self):
        return Osc(self.auth_url, "demo", self.password("demo"), "demo")

    def inventory(self):
        return self.lab.write_inventory({
            "nova_lite_credentials_dir": self.credentials,
            "nova_lite_wheelhouse_dir": os.path.join(self.lab.dir, "wheelhouse"),
            "nova_lite_source": REPO,
            "nova_lite_virt_type": "qemu",
        })

    def supervisorctl(self, machine, *args):
        return self.lab.ssh(self.lab.machines[machine],
                            "supervisorctl -c /etc/nova-lite/supervisord.conf " + " ".join(args),
                            check=False)

    def program_pid(self, machine, program):
        out = self.supervisorctl(machine, "pid", program).stdout.strip()
        return int(out) if out.isdigit() and out != "0" else None

    def http(self, osc):
        token = osc.token()
        return httpx.Client(base_url=self.endpoint, headers={"X-Auth-Token": token},
                            timeout=30)


@pytest.fixture(scope="module")
def cluster():
    _need()
    lab = Lab(tag="m").start()
    try:
        for name, groups in (("ctl1", ["database", "messaging", "controllers"]),
                             ("ctl2", ["messaging", "controllers"]),
                             ("ctl3", ["messaging", "loadbalancers"])):
            lab.add(name, groups=groups)
        for name in ("cmp1", "cmp2"):
            lab.add(name, groups=["computes"], segments=("mgmt", "ext"),
                    variables={"nova_lite_external_interface": "eth1"}, unaddressed=("ext",))
        yield Cluster(lab)
    finally:
        for name, value in FIGURES.items():
            print(f"multinode: {name}: {value}")
        if os.environ.get("NOVA_LITE_KEEP_LAB"):
            print(f"multinode: lab kept in {lab.dir}")
        else:
            lab.stop()
            shutil.rmtree(lab.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def deployed(cluster):
    cluster.inventory()
    run = cluster.lab.ansible_playbook("site.yml")
    FIGURES["site.yml from nothing (5 machines)"] = f"{run.elapsed:.0f} s"
    return run


def test_site_yml_deploys_a_cluster_that_answers_through_one_endpoint(cluster, deployed):
    admin = cluster.admin
    services = wait_for(lambda: admin("compute", "service", "list", "-f", "json"),
                        lambda rows: {r["Host"] for r in rows if r["Binary"] == "nova-compute"
                                      and r["State"] == "up"} >= {"cmp1", "cmp2"},
                        timeout=120, interval=3)
    assert {r["Host"] for r in services} >= {"cmp1", "cmp2"}
    catalog = admin("catalog", "list", "-f", "json")
    urls = [e["url"] for entry in catalog for e in entry["Endpoints"]]
    assert urls and all(u.startswith(cluster.endpoint) for u in urls), urls
    # Compute hosts reach the brokers and the endpoint, never PostgreSQL.
    for name in ("cmp1", "cmp2"):
        conf = cluster.lab.ssh(cluster.lab.machines[name], "cat /etc/nova-lite/nova-lite.conf").stdout
        assert "[database]" not in conf and "postgresql" not in conf
        reach = cluster.lab.ssh(cluster.lab.machines[name],
                                f"timeout 3 bash -c '</dev/tcp/{cluster.lab.machines['ctl1'].ip}/5432'",
                                check=False)
        assert reach.returncode != 0, "a compute host reached PostgreSQL"
    # The brokers form one cluster of three.
    status = cluster.lab.ssh(cluster.lab.machines["ctl2"], "rabbitmqctl -q cluster_status").stdout
    for name in ("ctl1", "ctl2", "ctl3"):
        assert f"rabbit@{name}" in status


def test_a_second_site_yml_changes_nothing(cluster, deployed):
    run = cluster.lab.ansible_playbook("site.yml", log_name="site-second")
    FIGURES["site.yml second run"] = f"{run.elapsed:.0f} s, changed={sum(run.changed().values())}"
    assert set(run.changed()) == set(cluster.lab.machines)
    assert sum(run.changed().values()) == 0, "\n".join(run.changed_tasks())
