"""The real ``openstack`` CLI pinned to a high Compute microversion
(``--os-compute-api-version 2.100``, and 2.79 for one show) against the API served over
HTTP (the in-process app, no worker services: servers stay in BUILD, which is
enough to create, list and show them). Before 2.100 was served, every one of
these commands failed with 406."""
import uuid

import pytest

from tests.fixtures.credentials import ADMIN_PASSWORD
from tests.fixtures.images import upload_image
from tests.fixtures.osc import Osc


@pytest.fixture(scope="module")
def image_name(app, admin_headers):
    name = "mvosc-" + uuid.uuid4().hex[:6]
    upload_image(app.test_client(), admin_headers, name)
    return name


def test_openstack_cli_at_a_pinned_microversion(live_api, client, admin_headers,
                                                image_name):
    osc = Osc(live_api.url + "/identity/v3", "admin", ADMIN_PASSWORD, "admin")
    pin = ("--os-compute-api-version", "2.100")
    name = "mvosc-" + uuid.uuid4().hex[:6]
    flavors = osc(*pin, "flavor", "list", "-f", "json")
    assert "m1.tiny" in {f["Name"] for f in flavors}
    flavor = osc(*pin, "flavor", "show", "m1.tiny", "-f", "json")
    assert (flavor["ram"], flavor["vcpus"], flavor["description"]) == (512, 1, None)
    key = osc(*pin, "keypair", "create", "--public-key", _public_key(), name, "-f", "json")
    server = None
    try:
        assert key["type"] == "ssh"                                   # a 2.2 field
        assert name in {k["Name"] for k in osc(*pin, "keypair", "list", "-f", "json")}
        server = osc(*pin, "server", "create", "--flavor", "m1.tiny", "--image",
                     image_name, "--nic", "none", "--key-name", name,
                     "--description", "pinned", name, "-f", "json")["id"]
        assert server in {s["ID"] for s in osc(*pin, "server", "list", "-f", "json")}
        shown = osc(*pin, "server", "show", server, "-f", "json")
        assert (shown["description"], shown["locked"], shown["flavor"]["original_name"],
                shown["pinned_availability_zone"], shown["scheduler_hints"]) == \
            ("pinned", False, "m1.tiny", None, {})
        # 2.79, a version whose server body has no 2.96/2.100 fields.
        older = osc("--os-compute-api-version", "2.79", "server", "show", server,
                    "-f", "json")
        assert older["description"] == "pinned" and "scheduler_hints" not in older
    finally:
        if server:
            client.delete(f"/compute/v2.1/servers/{server}", headers=admin_headers)
        client.delete(f"/compute/v2.1/os-keypairs/{name}", headers=admin_headers)


def _public_key():
    """A file holding a fresh OpenSSH public key (2.92 imports only)."""
    import tempfile

    from nova_lite.api.compute import keypairs
    public, _ = keypairs.generate()
    handle = tempfile.NamedTemporaryFile("w", suffix=".pub", delete=False)
    handle.write(public)
    handle.close()
    return handle.name
