"""Fixtures for the functional tests: the services as real processes, and the
fixtures several test modules share. Helpers live in tests/fixtures/."""
import os
import shutil
import subprocess
import tempfile
import uuid

import pytest

from tests.fixtures.cloud import CloudClient, upload_image
from tests.fixtures.credentials import ADMIN_PASSWORD, DEMO_PASSWORD


@pytest.fixture(scope="session")
def cloud(configured, postgres, rabbit, state_dir):
    """The services as processes (two fake hosts) on a database of their own.

    Never the in-process code's database: two deployments sharing one outbox
    table on two vhosts take each other's rows (each relay sweeps every unsent
    row), so either one's messages could be published where nobody listens."""
    from tests.fixtures.services import Cloud
    running = Cloud(postgres, rabbit, state_dir, configured.identity.fernet_key_file,
                    compute_hosts=("compute1", "compute2"), db_name="cloud").start()
    running.admin = CloudClient(running.url, "admin", ADMIN_PASSWORD, "admin")
    running.demo = CloudClient(running.url, "demo", DEMO_PASSWORD, "demo")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def cloud_image(cloud):
    """An active public image in the running cloud (a small qcow2-labelled file)."""
    return upload_image(cloud.admin, "e2e-tiny", b"\0" * 65536)


# -- scheduler tests (test_scheduler_batch, test_build_reports) --------------------------

@pytest.fixture
def nodes():
    """nodes(tag, count): compute nodes for one test, disabled after it."""
    from tests.fixtures.nodes import node_factory
    with node_factory() as make:
        yield make


# -- Networking API tests (test_network_api, test_network_compute_api) -------------------

@pytest.fixture
def api(client, admin_headers, demo_headers):
    from tests.fixtures.network_api import Api
    made = Api(client, admin_headers, demo_headers)
    yield made
    made.cleanup()


# -- real guests (test_libvirt_guest, test_libvirt_network, test_libvirt_e2e) ------------
# Module-scoped: each module that uses them gets its own libvirtd, state path,
# image and driver.

@pytest.fixture(scope="module")
def libvirtd():
    from tests.fixtures.libvirtd import Libvirtd, Missing
    if os.geteuid() != 0:
        pytest.skip("booting guests through qemu:///system needs root")
    try:
        daemon = Libvirtd().start()
    except Missing as exc:
        pytest.fail(str(exc), pytrace=False)
    yield daemon
    daemon.stop()


@pytest.fixture(scope="module")
def state_path():
    # Not under pytest's tmp dirs: those are 0700, and QEMU runs as libvirt-qemu.
    path = tempfile.mkdtemp(prefix="nl-libvirt-test-")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def tiny_image(state_path):
    from nova_lite.compute.virt.driver import LocalImage
    from tests.fixtures.libvirtd import BUILD_IMAGE
    output = os.path.join(state_path, "images", "_base", "tiny")
    result = subprocess.run(["bash", BUILD_IMAGE, output], check=False, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == output
    for directory in (os.path.dirname(output), os.path.dirname(os.path.dirname(output))):
        os.chmod(directory, 0o755)
    return LocalImage("tiny", output, "qcow2")


@pytest.fixture(scope="module")
def drv(libvirtd, state_path):
    from nova_lite.compute.virt.libvirt import virt_type
    from nova_lite.compute.virt.libvirt.driver import LibvirtDriver
    from tests.fixtures.libvirtd import conf_overrides
    values = {(None, "state_path"): state_path,
              # Its own host name: a nova-lite compute on this machine (devstack)
              # must not take the test's guests for its own.
              (None, "host"): f"libvirt-test-{uuid.uuid4().hex[:8]}",
              ("libvirt", "connection_uri"): "qemu:///system",
              ("libvirt", "virt_type"): "auto",
              ("libvirt", "graceful_shutdown_timeout"): 30}
    with conf_overrides(values):
        virt_type.reset()
        driver = LibvirtDriver()
        yield driver
        for instance_uuid in driver.list_instances():
            driver.destroy(instance_uuid)
        virt_type.reset()
