"""Real guests through the whole stack: the API, conductor, scheduler and a
compute host with the libvirt driver (QEMU/TCG here, KVM where it really
works), in a cloud of their own (own database and RabbitMQ vhost), booting
devstack/tools/build-image.sh's tiny image.

Also prints the figures the libvirt issue asks for (create -> ACTIVE,
create -> banner) so a run shows them."""
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import types

import pytest

from tests.fixtures.cloud import CloudClient, server_status, upload_image
from tests.fixtures.credentials import ADMIN_PASSWORD, DEMO_PASSWORD, SERVICE_PASSWORD
from tests.fixtures.libvirtd import BUILD_IMAGE
from tests.fixtures.waiting import wait_for

PREFIX = "nova-lite-"
MEMORY_MB = 128
RESIZED_MB = 192


def virsh(*args):
    return subprocess.run(["virsh", "-c", "qemu:///system", *args], capture_output=True,
                          text=True, timeout=30)


def domain_state(server_id):
    return virsh("domstate", PREFIX + server_id).stdout.strip()


@pytest.fixture(scope="module")
def libvirt_cloud(libvirtd, postgres, rabbit, configured):
    from tests.fixtures.services import Cloud, script
    state = tempfile.mkdtemp(prefix="nl-libvirt-cloud-")
    os.chmod(state, 0o755)                  # QEMU runs as libvirt-qemu
    postgres.create_database("nl_libvirt")
    rabbit.ctl("add_vhost", "libvirt")
    rabbit.ctl("set_permissions", "-p", "libvirt", "guest", ".*", ".*", ".*")
    database = types.SimpleNamespace(url=lambda dbname=None: postgres.url("nl_libvirt"))
    broker = types.SimpleNamespace(url=rabbit.url + "libvirt")
    cloud = Cloud(database, broker, state, configured.identity.fernet_key_file,
                  compute_hosts=("virthost",), virt_driver="libvirt",
                  extra_conf=f"\n[libvirt]\nconnection_uri = qemu:///system\n"
                             f"virt_type = auto\ninstances_path = {state}/instances\n"
                             f"graceful_shutdown_timeout = 20\n")
    cloud.write_config()
    manage = [script("nova-lite-manage"), "--config-file", cloud.config_file]
    subprocess.run([*manage, "db", "sync"], check=True, capture_output=True)
    subprocess.run([*manage, "bootstrap", "--admin-password", ADMIN_PASSWORD,
                    "--demo-password", DEMO_PASSWORD, "--service-password",
                    SERVICE_PASSWORD], check=True, capture_output=True)
    subprocess.run([*manage, "flavor", "create", "tiny.128", "--id", "tiny128", "--vcpus",
                    "1", "--ram", str(MEMORY_MB), "--disk", "1"], check=True,
                   capture_output=True)
    subprocess.run([*manage, "flavor", "create", "small.192", "--id", "small192",
                    "--vcpus", "2", "--ram", str(RESIZED_MB), "--disk", "2"], check=True,
                   capture_output=True)
    cloud.start(timeout=90)
    cloud.admin = CloudClient(cloud.url, "admin", ADMIN_PASSWORD, "admin")
    cloud.demo = CloudClient(cloud.url, "demo", DEMO_PASSWORD, "demo")
    cloud.instances_path = os.path.join(state, "instances")
    yield cloud
    cloud.stop()
    shutil.rmtree(state, ignore_errors=True)


def upload(cloud, name, data_path=None, data=None):
    with open(data_path, "rb") if data_path else contextlib.nullcontext() as f:
        return upload_image(cloud.admin, name, f.read() if f else data)


@pytest.fixture(scope="module")
def tiny_image_id(libvirt_cloud):
    path = os.path.join(tempfile.mkdtemp(prefix="nl-img-"), "tiny.qcow2")
    result = subprocess.run(["bash", BUILD_IMAGE, path], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return upload(libvirt_cloud, "nova-lite-tiny", data_path=path)


def console(cloud, server_id):
    response = cloud.demo.compute("POST", f"/servers/{server_id}/action",
                                  json={"os-getConsoleOutput": {}})
    return response.json().get("output", "") if response.status_code == 200 else ""


def banners(cloud, server_id, name):
    return console(cloud, server_id).count(f"nova-lite guest {name} booted")


def boot(cloud, image_id, name):
    started = time.monotonic()
    response = cloud.demo.compute("POST", "/servers", json={"server": {
        "name": name, "imageRef": image_id, "flavorRef": "tiny128",
        "user_data": "aGVsbG8gZnJvbSB0aGUgdGVzdAo="}})
    assert response.status_code == 202, response.text
    server_id = response.json()["server"]["id"]
    status, server = wait_for(lambda: server_status(cloud.demo, server_id),
                              lambda s: s[0] in ("ACTIVE", "ERROR"), timeout=180)
    assert status == "ACTIVE", server
    active = time.monotonic() - started
    wait_for(lambda: banners(cloud, server_id, name), lambda n: n >= 1, timeout=180,
             interval=0.5)
    banner = time.monotonic() - started
    print(f"\n{name}: create -> ACTIVE {active:.1f} s, create -> banner {banner:.1f} s",
          file=sys.stderr)
    return server_id


def act(cloud, server_id, body, status):
    response = cloud.demo.compute("POST", f"/servers/{server_id}/action", json=body)
    assert response.status_code == 202, response.text
    found, server = wait_for(lambda: server_status(cloud.demo, server_id),
                             lambda s: s[1] and s[1]["OS-EXT-STS:task_state"] is None,
                             timeout=180)
    assert found == status, server
    return server


def test_a_real_guest_boots_stops_starts_reboots_snapshots_and_goes(libvirt_cloud,
                                                                   tiny_image_id):
    cloud = libvirt_cloud
    first = boot(cloud, tiny_image_id, "real-one")
    assert "config-drive: real-one" in console(cloud, first)
    assert domain_state(first) == "running"

    server = act(cloud, first, {"os-stop": None}, "SHUTOFF")
    assert server["OS-EXT-STS:power_state"] == 4
    assert domain_state(first) == "shut off"
    server = act(cloud, first, {"os-start": None}, "ACTIVE")
    assert server["OS-EXT-STS:power_state"] == 1 and domain_state(first) == "running"
    wait_for(lambda: banners(cloud, first, "real-one"), lambda n: n >= 2, timeout=180)

    act(cloud, first, {"reboot": {"type": "HARD"}}, "ACTIVE")
    wait_for(lambda: banners(cloud, first, "real-one"), lambda n: n >= 3, timeout=180)

    response = cloud.demo.compute("POST", f"/servers/{first}/action",
                                  json={"createImage": {"name": "real-snap"}})
    assert response.status_code == 202, response.text
    snap_id = response.headers["Location"].rsplit("/", 1)[-1]
    image = wait_for(lambda: cloud.demo.image("GET", f"/images/{snap_id}").json(),
                     lambda i: i.get("status") == "active", timeout=240)
    assert image["size"] > 0
    second = boot(cloud, snap_id, "from-snap")

    for server_id in (first, second):
        assert cloud.demo.compute("DELETE", f"/servers/{server_id}").status_code == 204
    for server_id in (first, second):
        wait_for(lambda: server_status(cloud.demo, server_id), lambda s: s[0] == "GONE",
                 timeout=120)
        assert virsh("dominfo", PREFIX + server_id).returncode != 0, "domain left behind"
        assert not os.path.exists(os.path.join(cloud.instances_path, server_id))


def dominfo(server_id):
    lines = virsh("dominfo", PREFIX + server_id).stdout.splitlines()
    return dict(line.split(":", 1) for line in lines if ":" in line)


def test_a_real_guest_is_resized_confirmed_and_rebuilt(libvirt_cloud, tiny_image_id):
    """resize on the same host (vCPUs and memory in the domain definition, the
    disk grown by qemu-img), confirm (the old disk dropped), then rebuild
    (a new disk and config drive): the guest boots each time."""
    cloud = libvirt_cloud
    server_id = boot(cloud, tiny_image_id, "grows")
    root = os.path.join(cloud.instances_path, server_id, "disk")
    started = time.monotonic()
    server = act(cloud, server_id, {"resize": {"flavorRef": "small192"}}, "VERIFY_RESIZE")
    resized = time.monotonic() - started
    info = dominfo(server_id)
    assert info["CPU(s)"].strip() == "2", info
    assert info["Max memory"].strip() == f"{RESIZED_MB * 1024} KiB", info
    assert server["flavor"]["id"] == "small192" and domain_state(server_id) == "running"
    size = subprocess.run(["qemu-img", "info", "-U", "--output=json", root],
                          capture_output=True, text=True, check=True).stdout
    assert f'"virtual-size": {2 * 1024 ** 3}' in size
    assert os.path.exists(root + ".pre-resize")
    wait_for(lambda: banners(cloud, server_id, "grows"), lambda n: n >= 2, timeout=180)
    response = cloud.demo.compute("POST", f"/servers/{server_id}/action",
                                  json={"confirmResize": None})
    assert response.status_code == 204, response.text
    wait_for(lambda: server_status(cloud.demo, server_id)[0], lambda s: s == "ACTIVE",
             timeout=60)
    wait_for(lambda: os.path.exists(root + ".pre-resize"), lambda e: not e, timeout=30)

    started = time.monotonic()
    server = act(cloud, server_id, {"rebuild": {"imageRef": tiny_image_id,
                                                "name": "reborn"}}, "ACTIVE")
    rebuilt = time.monotonic() - started
    assert server["name"] == "reborn"
    wait_for(lambda: banners(cloud, server_id, "reborn"), lambda n: n >= 1, timeout=180)
    print(f"\nresize -> VERIFY_RESIZE {resized:.1f} s, rebuild -> ACTIVE {rebuilt:.1f} s",
          file=sys.stderr)
    assert cloud.demo.compute("DELETE", f"/servers/{server_id}").status_code == 204
    wait_for(lambda: server_status(cloud.demo, server_id), lambda s: s[0] == "GONE",
             timeout=120)


def test_a_corrupt_image_ends_in_error_and_leaves_nothing(libvirt_cloud):
    cloud = libvirt_cloud
    bad = upload(cloud, "corrupt", data=os.urandom(256 * 1024))
    response = cloud.demo.compute("POST", "/servers", json={"server": {
        "name": "doomed", "imageRef": bad, "flavorRef": "tiny128"}})
    server_id = response.json()["server"]["id"]
    status, server = wait_for(lambda: server_status(cloud.demo, server_id),
                              lambda s: s[0] in ("ACTIVE", "ERROR"), timeout=180)
    assert status == "ERROR"
    assert server["fault"]["message"].startswith(f"Build of instance {server_id} aborted")
    assert virsh("dominfo", PREFIX + server_id).returncode != 0
    assert not os.path.exists(os.path.join(cloud.instances_path, server_id))
    usage = cloud.admin.http.get("/compute/v2.1/servers/detail?all_tenants=1").json()
    assert server_id in {s["id"] for s in usage["servers"]}
    from sqlalchemy import create_engine, text
    engine = create_engine(cloud.postgres.url())
    with engine.connect() as conn:
        held = conn.execute(text("SELECT count(*) FROM allocations")).scalar()
    engine.dispose()
    assert held == 0
    cloud.demo.compute("DELETE", f"/servers/{server_id}")
