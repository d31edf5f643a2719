"""nova-lite CLI: request bodies and views of servers, images and key pairs."""
import base64
import io
import os
import stat

import pytest

from nova_lite.cli import errors, images, keypairs, output, servers

SERVER = {
    "id": "s1", "name": "web", "status": "ACTIVE", "links": [{"rel": "self"}],
    "addresses": {"private": [{"addr": "10.0.0.3", "version": 4},
                              {"addr": "fd00::3", "version": 6}]},
    "flavor": {"id": "1", "links": []}, "image": {"id": "i1", "links": []},
    "metadata": {"role": "web"}, "security_groups": [{"name": "default"}],
    "OS-EXT-STS:task_state": None, "OS-EXT-STS:power_state": 1,
    "OS-EXT-AZ:availability_zone": "nova", "OS-EXT-SRV-ATTR:host": "cmp1",
}
FLAVOR_NAMES = {"1": "m1.tiny"}
IMAGE_NAMES = {"i1": "cirros"}


def test_create_body_minimal():
    assert servers.create_body("web", "i1", "1") == {
        "server": {"name": "web", "imageRef": "i1", "flavorRef": "1"}}


def test_create_body_full():
    body = servers.create_body("web", "i1", "1", key_name="k", user_data=b"#!/bin/sh\n",
                               properties=[("a", "1"), ("b", "2")], min_count=2,
                               max_count=3)["server"]
    assert body["key_name"] == "k"
    assert base64.b64decode(body["user_data"]) == b"#!/bin/sh\n"
    assert body["metadata"] == {"a": "1", "b": "2"}
    assert (body["min_count"], body["max_count"]) == (2, 3)


@pytest.mark.parametrize("minimum, maximum, result", [
    (None, None, (1, 1)), (2, None, (2, 2)), (None, 3, (1, 3)), (2, 5, (2, 5)),
])
def test_counts(minimum, maximum, result):
    assert servers.counts(minimum, maximum) == result


def test_counts_min_above_max():
    with pytest.raises(errors.CliError, match="--min"):
        servers.counts(3, 2)


def test_networks():
    assert servers.networks(SERVER) == {"private": ["10.0.0.3", "fd00::3"]}
    assert servers.networks({"addresses": {}}) == {}
    assert servers.networks({}) == {}


def test_list_columns_short_use_names():
    columns = servers.list_columns(False, FLAVOR_NAMES, IMAGE_NAMES)
    assert [h for h, _ in columns] == ["ID", "Name", "Status", "Networks", "Image",
                                       "Flavor"]
    assert output.rows(columns, [SERVER]) == [
        ["s1", "web", "ACTIVE", {"private": ["10.0.0.3", "fd00::3"]}, "cirros",
         "m1.tiny"]]


def test_list_columns_fall_back_to_ids():
    row = output.rows(servers.list_columns(False, {}, {}), [{**SERVER, "image": ""}])[0]
    assert row[4:] == ["", "1"]


def test_list_columns_long():
    columns = servers.list_columns(True, FLAVOR_NAMES, {})
    values = dict(zip([h for h, _ in columns], output.rows(columns, [SERVER])[0]))
    assert values["Power State"] == "Running" and values["Task State"] is None
    assert (values["Image Name"], values["Image ID"]) == ("", "i1")
    assert (values["Flavor Name"], values["Flavor ID"]) == ("m1.tiny", "1")
    assert values["Host"] == "cmp1" and values["Properties"] == {"role": "web"}


def test_display_for_people():
    shown = servers.display(SERVER, FLAVOR_NAMES, IMAGE_NAMES)
    assert "links" not in shown and "metadata" not in shown
    assert shown["properties"] == {"role": "web"}
    assert shown["flavor"] == "m1.tiny (1)" and shown["image"] == "cirros (i1)"
    assert shown["addresses"] == {"private": ["10.0.0.3", "fd00::3"]}
    assert shown["security_groups"] == ["default"]
    assert shown["OS-EXT-STS:power_state"] == "Running"
    assert servers.display(SERVER, {}, {})["image"] == "i1"


def test_image_create_body():
    assert images.create_body("cirros", "qcow2", "bare", None, [("os_distro", "c")]) == {
        "os_distro": "c", "name": "cirros", "disk_format": "qcow2",
        "container_format": "bare"}
    assert images.create_body("c", "raw", "bare", "public", [])["visibility"] == "public"


def test_progress_reader_counts_every_byte():
    data = os.urandom(3 * images.CHUNK + 5)
    advanced = []
    reader = images.ProgressReader(io.BytesIO(data), len(data), advanced.append)
    assert len(reader) == len(data)
    chunks = []
    while chunk := reader.read(8192 * 100):
        chunks.append(chunk)
    assert b"".join(chunks) == data and sum(advanced) == len(data)
    reader = images.ProgressReader(io.BytesIO(data), len(data), advanced.append)
    assert len(reader.read()) == images.CHUNK


def test_keypair_create_body():
    assert keypairs.create_body("k") == {"keypair": {"name": "k"}}
    assert keypairs.create_body("k", "ssh-rsa AAA") == {
        "keypair": {"name": "k", "public_key": "ssh-rsa AAA"}}


def test_private_key_file_is_0600(tmp_path):
    path = tmp_path / "key"
    with keypairs.private_key_file(str(path)) as write:
        write("-----BEGIN KEY-----\n")
    assert path.read_text() == "-----BEGIN KEY-----\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_private_key_file_replaces_old_content_and_mode(tmp_path):
    path = tmp_path / "key"
    path.write_text("old content that is longer")
    path.chmod(0o644)
    with keypairs.private_key_file(str(path)) as write:
        write("new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_private_key_file_removed_when_no_key_came(tmp_path):
    path = tmp_path / "key"
    with pytest.raises(RuntimeError):
        with keypairs.private_key_file(str(path)):
            raise RuntimeError("POST failed")
    assert not path.exists()


def test_private_key_file_unwritable(tmp_path):
    with pytest.raises(errors.CliError, match="Cannot write the private key"):
        with keypairs.private_key_file(str(tmp_path / "no" / "such" / "dir")):
            pass


def test_create_body_networks_by_id_auto_or_none():
    body = servers.create_body("web", "i1", "1", networks=["n1", "n2"])
    assert body["server"]["networks"] == [{"uuid": "n1"}, {"uuid": "n2"}]
    assert servers.create_body("web", "i1", "1", networks="none")["server"][
        "networks"] == "none"
    assert "networks" not in servers.create_body("web", "i1", "1")["server"]
