"""A nova-lite cluster on five machines, deployed by ansible/site.yml over SSH.

The machines are namespaces of this one (tests/fixtures/machines.py: own
network, mounts, host name, PIDs, sshd), deployed exactly as an operator
would deploy real ones, from the same playbooks and an inventory written here:

    ctl1  database, messaging, controllers      PostgreSQL, RabbitMQ, api/conductor/scheduler
    ctl2  messaging, controllers, loadbalancers RabbitMQ, api/conductor/scheduler, HAProxy
    ctl3  messaging, loadbalancers              RabbitMQ, HAProxy
                                                (keepalived moves the endpoint address
                                                between ctl2 and ctl3)
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
VIP = str(SEGMENTS["mgmt"].network_address + 200)   # the endpoint address


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
        self.endpoint = f"http://{VIP}:8774"
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
            "nova_lite_vip": VIP,
        }, group_vars={
            # The host with the most free RAM, not a random one of the best
            # four: with two hosts, the second server lands on the other one.
            "nova_lite_extra_config": {"scheduler": {"host_subset_size": 1}},
        })

    def supervisorctl(self, machine, *args):
        return self.lab.ssh(self.lab.machines[machine],
                            "supervisorctl -c /etc/nova-lite/supervisord.conf " + " ".join(args),
                            check=False)

    def program_pid(self, machine, program):
        out = self.supervisorctl(machine, "pid", program).stdout.strip()
        return int(out) if out.isdigit() and out != "0" else None

    def manage(self, *args):
        """nova-lite-manage on the first controller (over SSH)."""
        return self.lab.ssh(self.lab.machines["ctl1"],
                            "COLUMNS=200 /opt/nova-lite/venv/bin/nova-lite-manage --config-file "
                            "/etc/nova-lite/nova-lite.conf " + " ".join(args)).stdout

    def computes_up(self):
        rows = [[c.strip() for c in re.split(r"[│┃|]", line)]
                for line in self.manage("service", "list").splitlines()]
        return {cells[2] for cells in rows
                if len(cells) > 4 and "compute" in cells[1] and cells[4] == "up"}

    def http(self, osc):
        token = osc.token()
        return httpx.Client(base_url=self.endpoint, headers={"X-Auth-Token": token},
                            timeout=10)


@pytest.fixture(scope="module")
def cluster():
    _need()
    lab = Lab(tag="m").start()
    try:
        for name, groups in (("ctl1", ["database", "messaging", "controllers"]),
                             ("ctl2", ["messaging", "controllers", "loadbalancers"]),
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
    wait_for(lambda: cluster.computes_up(), lambda up: up >= {"cmp1", "cmp2"},
             timeout=120, interval=3)
    catalog = admin("catalog", "list", "-f", "json")
    urls = [e["url"] for entry in catalog for e in entry["Endpoints"]]
    assert urls and all(u.startswith(cluster.endpoint) for u in urls), urls
    # Compute hosts reach the brokers and the endpoint, never PostgreSQL.
    for name in ("cmp1", "cmp2"):
        conf = cluster.lab.ssh(cluster.lab.machines[name], "cat /etc/nova-lite/nova-lite.conf").stdout
        assert "[database]" not in conf and "postgresql" not in conf
        # Even with the database password, PostgreSQL lets in controllers only.
        reach = cluster.lab.ssh(cluster.lab.machines[name],
                                f"PGPASSWORD={cluster.password('db')} PGCONNECT_TIMEOUT=5 psql -h "
                                f"{cluster.lab.machines['ctl1'].ip} -U nova_lite -d nova_lite "
                                "-c 'SELECT 1'", check=False)
        assert reach.returncode != 0 and "no pg_hba.conf entry" in reach.stderr, reach
    # What listens for the cluster listens on the cluster address only.
    for name in ("ctl1", "ctl2"):
        machine = cluster.lab.machines[name]
        wildcard = [line for line in cluster.lab.ssh(machine, "ss -Hltnp").stdout.splitlines()
                    if re.search(r"\s(0\.0\.0\.0|\[::\]|\*):\d+\s", line)
                    and "haproxy" not in line]
        assert not wildcard, f"{name} listens on every interface: {wildcard}"
    # The brokers form one cluster of three.
    status = cluster.lab.ssh(cluster.lab.machines["ctl2"], "rabbitmqctl -q cluster_status").stdout
    for name in ("ctl1", "ctl2", "ctl3"):
        assert f"rabbit@{name}" in status


def test_a_second_site_yml_changes_nothing(cluster, deployed):
    run = cluster.lab.ansible_playbook("site.yml", log_name="site-second")
    FIGURES["site.yml second run"] = f"{run.elapsed:.0f} s, changed={sum(run.changed().values())}"
    assert set(run.changed()) == set(cluster.lab.machines)
    assert sum(run.changed().values()) == 0, "\n".join(run.changed_tasks())


# ---- guests on two hosts share a network ------------------------------------------
PING_SCRIPT = """#!/bin/sh
while :; do
  if r=$(ping -c 1 -W 1 {target} 2>&1); then
    echo "probe {target} ok $(echo "$r" | sed -n 's/.*time=\\([0-9.]*\\).*/\\1/p')"
  else
    echo "probe {target} fail"
  fi
  sleep 1
done
"""


@pytest.fixture(scope="module")
def tenant(cluster, deployed):
    """The image, a nano flavor, demo's network, the public network and a
    security group with no ingress rule, made through the endpoint."""
    admin, demo = cluster.admin, cluster.demo
    image = os.path.join(cluster.lab.dir, "tiny.img")
    built = subprocess.run(["bash", BUILD_IMAGE, image], capture_output=True, text=True,
                           timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    admin("image", "create", "--public", "--disk-format", "qcow2", "--container-format",
          "bare", "--file", image, "tiny")
    admin("flavor", "create", "--ram", "96", "--disk", "1", "--vcpus", "1", "nano")
    # demo makes more servers than the default quota (10) over the tests;
    # a release without quotas refuses the command, and needs none.
    admin("quota", "set", "--instances", "-1", "--cores", "-1", "--ram", "-1",
          "--ports", "-1", "demo", expect_ok=False)
    demo("network", "create", "net1")
    demo("subnet", "create", "--network", "net1", "--subnet-range", "10.77.0.0/24", "sub1")
    admin("network", "create", "--external", "--share", "public")
    admin("subnet", "create", "--network", "public", "--subnet-range", PUBLIC_CIDR,
          "--gateway", PUBLIC_GATEWAY, "--allocation-pool",
          f"start={EXT.network_address + 100},end={EXT.network_address + 150}", "public-sub")
    demo("security", "group", "create", "quiet")
    return {"image": "tiny", "flavor": "nano", "network": "net1", "group": "quiet"}


def boot(cluster, name, tenant, fixed_ip=None, user_data=None, wait=True):
    demo = cluster.demo
    nic = f"net-id={demo('network', 'show', tenant['network'], '-f', 'json')['id']}"
    if fixed_ip:
        nic += f",v4-fixed-ip={fixed_ip}"
    args = ["server", "create", "--flavor", tenant["flavor"], "--image", tenant["image"],
            "--nic", nic, "--security-group", tenant["group"]]
    if user_data:
        path = os.path.join(cluster.lab.dir, f"{name}.user-data")
        with open(path, "w") as f:
            f.write(user_data)
        args += ["--user-data", path]
    args += ["--wait"] if wait else []
    return demo(*args, name, "-f", "json", timeout=600)


def host_of(cluster, name):
    """The compute host of demo's server ``name`` (an admin-only attribute)."""
    server = cluster.demo("server", "show", name, "-f", "json")["id"]
    return cluster.admin("server", "show", server, "-f", "json")["OS-EXT-SRV-ATTR:host"]


def console(cluster, name):
    return cluster.demo("console", "log", "show", name)


def probes(text, target):
    return re.findall(rf"probe {re.escape(target)} (ok|fail)( [0-9.]+)?", text)


def test_guests_on_two_hosts_reach_each_other_as_their_security_group_allows(cluster, tenant):
    demo = cluster.demo
    # b first, at a known address; then a, pinging b every second from boot.
    boot(cluster, "b", tenant, fixed_ip="10.77.0.20")
    host_b = host_of(cluster, "b")
    a = boot(cluster, "a", tenant, user_data=PING_SCRIPT.format(target="10.77.0.20"))
    host_a = host_of(cluster, "a")
    assert {host_a, host_b} == {"cmp1", "cmp2"}, (host_a, host_b)
    assert a["status"] == "ACTIVE"

    # No ingress rule in "quiet": b drops a's pings.
    text = wait_for(lambda: console(cluster, "a"),
                    lambda t: len(probes(t, "10.77.0.20")) >= 3, timeout=180, interval=3)
    assert all(r[0] == "fail" for r in probes(text, "10.77.0.20")), text[-2000:]

    # ICMP from members of the group: a's address reaches b's host as a set member.
    demo("security", "group", "rule", "create", "--ingress", "--protocol", "icmp",
         "--remote-group", "quiet", "quiet")
    text = wait_for(lambda: console(cluster, "a"),
                    lambda t: [r[0] for r in probes(t, "10.77.0.20")][-10:] == ["ok"] * 10,
                    timeout=120, interval=3)
    rtts = sorted(float(r[1]) for r in probes(text, "10.77.0.20") if r[0] == "ok" and r[1])
    FIGURES["guest-to-guest ping across hosts (TCG guests), median"] = \
        f"{rtts[len(rtts) // 2]:.2f} ms over {len(rtts)} pings"


def test_a_floating_ip_reaches_a_guest_from_outside(cluster, tenant):
    demo = cluster.demo
    demo("security", "group", "rule", "create", "--ingress", "--protocol", "icmp",
         "--remote-ip", "0.0.0.0/0", "quiet")
    fip = demo("floating", "ip", "create", "public", "-f", "json")["floating_ip_address"]
    demo("server", "add", "floating", "ip", "b", fip)
    # The deploy machine is on the external segment, as the upstream router.
    wait_for(lambda: subprocess.run(["ping", "-c", "1", "-W", "1", fip],
                                    capture_output=True).returncode,
             lambda rc: rc == 0, timeout=90, interval=1)
    out = subprocess.run(["ping", "-c", "10", "-i", "0.2", "-W", "1", fip],
                         capture_output=True, text=True).stdout
    assert " 0% packet loss" in out, out


# ---- losing a controller's API, losing a broker ---------------------------------------
class Creator:
    """Creates servers through the endpoint one after another (a client that
    retries a request that got no answer or a 5xx, as real clients do) and
    remembers which were accepted (202)."""

    def __init__(self, cluster, tenant, prefix):
        demo = cluster.demo
        self.http = cluster.http(demo)
        self.body = {
            "imageRef": cluster.admin("image", "show", tenant["image"], "-f", "json")["id"],
            "flavorRef": cluster.admin("flavor", "show", tenant["flavor"], "-f", "json")["id"],
            "networks": [{"uuid": demo("network", "show", tenant["network"], "-f", "json")["id"]}],
            "security_groups": [{"name": tenant["group"]}]}
        self.prefix = prefix
        self.accepted = []      # server ids
        self.failures = []      # what a try got instead of a 202
        self.stop = threading.Event()
        self.thread = None

    def create_one(self, n):
        body = {"server": {**self.body, "name": f"{self.prefix}-{n}"}}
        for _ in range(10):
            try:
                resp = self.http.post("/compute/v2.1/servers", json=body)
            except httpx.HTTPError as exc:
                self.failures.append(repr(exc))
            else:
                if resp.status_code == 202:
                    self.accepted.append(resp.json()["server"]["id"])
                    return
                self.failures.append(f"{resp.status_code} {resp.text[:200]}")
                if resp.status_code < 500:
                    return
            time.sleep(1)

    def run(self, count, interval):
        n = 0
        while not self.stop.is_set() and n < count:
            self.create_one(n)
            n += 1
            self.stop.wait(interval)

    def start(self, count, interval=2.0, until_finished=False):
        """Create ``count`` servers in the background, one every ``interval``
        seconds; with ``until_finished``, finish() stops it early."""
        self.until_finished = until_finished
        self.thread = threading.Thread(target=self.run, args=(count, interval), daemon=True)
        self.thread.start()
        return self

    def finish(self, timeout=300):
        """Wait for the creates (or stop them, with ``until_finished``)."""
        if self.until_finished:
            self.stop.set()
        self.thread.join(timeout)

    def statuses(self):
        resp = self.http.get("/compute/v2.1/servers/detail", params={"name": f"^{self.prefix}-"})
        resp.raise_for_status()
        return {s["id"]: s["status"] for s in resp.json()["servers"]}

    def wait_active(self, timeout=600):
        """Every accepted server ACTIVE (none lost, none stuck, none in ERROR)."""
        statuses = wait_for(self.statuses,
                            lambda st: all(st.get(i) in ("ACTIVE", "ERROR") for i in self.accepted),
                            timeout=timeout, interval=3)
        assert all(statuses.get(i) == "ACTIVE" for i in self.accepted), statuses
        return statuses

    def delete_all(self):
        for server in self.accepted:
            self.http.delete(f"/compute/v2.1/servers/{server}")


def machine_pid(cluster, machine, process):
    """PID of the oldest ``process`` inside a lab machine (its own PID namespace)."""
    out = cluster.lab.ssh(cluster.lab.machines[machine], f"pgrep -o -x {process}",
                          check=False).stdout.strip()
    return int(out) if out.isdigit() else None


def test_losing_a_controllers_api_loses_no_request(cluster, tenant):
    creator = Creator(cluster, tenant, "api-kill").start(count=6, interval=2.0)
    time.sleep(3)
    victim = cluster.program_pid("ctl1", "nova-lite-api")
    assert victim
    cluster.lab.ssh(cluster.lab.machines["ctl1"], f"kill -9 {victim}")
    killed = time.monotonic()
    back = wait_for(lambda: cluster.program_pid("ctl1", "nova-lite-api"),
                    lambda pid: pid and pid != victim, timeout=30, interval=0.25)
    FIGURES["API killed on ctl1: supervised back (new PID)"] = \
        f"{time.monotonic() - killed:.1f} s (pid {victim} -> {back})"
    assert time.monotonic() - killed < 10
    creator.finish()
    assert len(creator.accepted) == 6, creator.failures
    FIGURES["API killed: tries that got no 202 (then retried)"] = len(creator.failures)
    creator.wait_active()
    creator.delete_all()


def test_losing_a_broker_loses_no_request(cluster, tenant):
    creator = Creator(cluster, tenant, "mq-kill").start(count=6, interval=2.0)
    time.sleep(3)
    victim = machine_pid(cluster, "ctl2", "beam.smp")
    assert victim, "no RabbitMQ node runs on ctl2"
    cluster.lab.ssh(cluster.lab.machines["ctl2"], f"kill -9 {victim}")
    killed = time.monotonic()
    creator.finish()
    assert len(creator.accepted) == 6, creator.failures
    creator.wait_active()
    # The node is back by itself and in the cluster again.
    wait_for(lambda: cluster.lab.ssh(cluster.lab.machines["ctl2"],
                                     "rabbitmqctl -q cluster_status --formatter json",
                                     check=False).stdout,
             lambda out: all(f"rabbit@{n}" in out.split("running_nodes")[-1].split("]")[0]
                             for n in ("ctl1", "ctl2", "ctl3")) if "running_nodes" in out
             else False, timeout=120, interval=2)
    FIGURES["broker killed on ctl2: back in the cluster"] = f"{time.monotonic() - killed:.0f} s"
    creator.delete_all()


# ---- growing and upgrading the cloud ---------------------------------------------------
def test_add_compute_yml_adds_a_host_that_takes_servers(cluster, tenant):
    cluster.lab.add("cmp3", groups=["computes"], segments=("mgmt", "ext"),
                    variables={"nova_lite_external_interface": "eth1"}, unaddressed=("ext",))
    cluster.inventory()
    run = cluster.lab.ansible_playbook("add-compute.yml", "--limit", "cmp3")
    FIGURES["add-compute.yml (one host)"] = f"{run.elapsed:.0f} s"
    assert set(run.recap()) == {"cmp3"}, run.recap()
    wait_for(cluster.computes_up, lambda up: "cmp3" in up, timeout=120, interval=3)
    # The emptiest host (most free RAM): the next server lands there.
    boot(cluster, "new", tenant)
    assert host_of(cluster, "new") == "cmp3"
    cluster.demo("server", "delete", "new")


def test_rolling_upgrade_loses_nothing_while_servers_are_created(cluster, tenant):
    # A new version: the same tree with one changed file, so every machine
    # installs new code and restarts its services, one machine at a time.
    source = os.path.join(cluster.lab.dir, "source-v2")
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", "*.img", "flood*"))
    with open(os.path.join(source, "nova_lite", "version.py"), "a") as f:
        f.write("# upgraded by test_multinode\n")
    # One server every 10 s (real TCG guests: a machine of 2 cores runs only
    # so many), at most 12, while the upgrade runs.
    creator = Creator(cluster, tenant, "upgrade").start(12, 10.0, until_finished=True)
    run = cluster.lab.ansible_playbook("upgrade.yml", "-e", f"nova_lite_source={source}")
    creator.finish()
    FIGURES["upgrade.yml (2 controllers, 3 computes, serial)"] = f"{run.elapsed:.0f} s"
    FIGURES["upgrade: servers created meanwhile / tries without a 202"] = \
        f"{len(creator.accepted)} / {len(creator.failures)}"
    assert creator.accepted
    restarted = {name for name in cluster.lab.machines
                 if run.changed().get(name, 0) > 0}
    assert restarted >= {"ctl1", "ctl2", "cmp1", "cmp2", "cmp3"}, run.changed()
    creator.wait_active()
    creator.delete_all()


def test_a_power_cut_of_the_machine_holding_the_endpoint_loses_no_request(cluster, tenant):
    """Last: ctl2 or ctl3, whichever holds the endpoint address (with a
    broker, and on ctl2 a controller), loses power while servers are created."""
    def holders():
        return [n for n in ("ctl2", "ctl3") if cluster.lab.machines[n].alive()
                and f" {VIP}/" in cluster.lab.ssh(cluster.lab.machines[n], "ip -br addr",
                                                  check=False).stdout]
    holder = wait_for(holders, lambda h: len(h) == 1, timeout=30)[0]
    creator = Creator(cluster, tenant, "power-cut").start(count=8, interval=2.0)
    time.sleep(3)
    cluster.lab.machines[holder].kill()
    cut = time.monotonic()
    survivor = wait_for(holders, lambda h: len(h) == 1, timeout=60, interval=0.5)[0]
    FIGURES[f"power cut of {holder}: endpoint address on {survivor}"] = \
        f"{time.monotonic() - cut:.1f} s"
    creator.finish()
    assert len(creator.accepted) == 8, creator.failures
    FIGURES["power cut: tries without a 202 (then retried)"] = len(creator.failures)
    creator.wait_active()
