"""The config drive ISO, read back with isoinfo (Debian package genisoimage)."""
import base64
import json
import shutil
import subprocess

import pytest

from nova_lite.compute import configdrive

INSTANCE = {"uuid": "5d8a3a8e-0f0c-4f8e-9a8f-8a4f0e2b7c01", "name": "Web Server 1",
            "project_id": "proj-1", "key_name": "mykey", "key_data": "ssh-ed25519 AAAA me",
            "metadata": {"role": "web"}, "launch_index": 2, "availability_zone": "az1",
            "user_data": base64.b64encode(b"#!/bin/sh\necho hello\n").decode()}


@pytest.fixture(autouse=True)
def need_isoinfo():
    if not shutil.which("isoinfo"):
        pytest.fail("isoinfo is missing: install the Debian package genisoimage", pytrace=False)


def read(iso, path):
    return subprocess.run(["isoinfo", "-R", "-i", str(iso), "-x", path], capture_output=True,
                          check=True).stdout


def listing(iso):
    return subprocess.run(["isoinfo", "-R", "-f", "-i", str(iso)], capture_output=True,
                          text=True, check=True).stdout.split()


def test_volume_label_is_config_2(tmp_path):
    iso = configdrive.build(INSTANCE, str(tmp_path / "disk.config"))
    volume = subprocess.run(["isoinfo", "-d", "-i", iso], capture_output=True, text=True,
                            check=True).stdout
    assert "Volume id: config-2" in volume


def test_meta_data(tmp_path):
    iso = configdrive.build(INSTANCE, str(tmp_path / "disk.config"))
    meta = json.loads(read(iso, "/openstack/latest/meta_data.json"))
    assert meta == {"uuid": INSTANCE["uuid"], "name": "Web Server 1",
                    "hostname": "web-server-1", "project_id": "proj-1", "launch_index": 2,
                    "availability_zone": "az1", "public_keys": {"mykey": "ssh-ed25519 AAAA me"},
                    "meta": {"role": "web"}}


def test_meta_data_has_one_top_level_key_per_line(tmp_path):
    iso = configdrive.build(INSTANCE, str(tmp_path / "disk.config"))
    lines = read(iso, "/openstack/latest/meta_data.json").decode().splitlines()
    assert '  "name": "Web Server 1",' in lines
    assert '  "hostname": "web-server-1",' in lines


def test_user_data_is_decoded(tmp_path):
    iso = configdrive.build(INSTANCE, str(tmp_path / "disk.config"))
    assert read(iso, "/openstack/latest/user_data") == b"#!/bin/sh\necho hello\n"


def test_2012_08_10_copies(tmp_path):
    iso = configdrive.build(INSTANCE, str(tmp_path / "disk.config"))
    assert read(iso, "/openstack/2012-08-10/meta_data.json") == read(
        iso, "/openstack/latest/meta_data.json")
    assert read(iso, "/openstack/2012-08-10/user_data") == read(
        iso, "/openstack/latest/user_data")


def test_minimal_instance(tmp_path):
    minimal = {"uuid": "11111111-2222-3333-4444-555555555555", "name": "!!!",
               "user_data": None, "key_data": None, "metadata": None}
    iso = configdrive.build(minimal, str(tmp_path / "disk.config"))
    assert "/openstack/latest/user_data" not in listing(iso)
    meta = json.loads(read(iso, "/openstack/latest/meta_data.json"))
    assert meta["hostname"] == "server-11111111-2222-3333-4444-555555555555"
    assert meta["public_keys"] == {}
    assert meta["meta"] == {}
    assert meta["availability_zone"] == "nova"
    assert meta["launch_index"] == 0


def test_bad_user_data_is_a_clear_error(tmp_path):
    with pytest.raises(configdrive.ConfigDriveError, match="not valid base64"):
        configdrive.build(dict(INSTANCE, user_data="not base64!"), str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()


def test_xorriso_is_used_without_genisoimage(tmp_path, monkeypatch):
    if not shutil.which("xorriso"):
        pytest.skip("xorriso is not installed (Debian package xorriso)")
    real_which = shutil.which
    monkeypatch.setattr(configdrive.shutil, "which",
                        lambda name: None if name == "genisoimage" else real_which(name))
    iso = configdrive.build(INSTANCE, str(tmp_path / "disk.config"))
    assert json.loads(read(iso, "/openstack/latest/meta_data.json"))["name"] == "Web Server 1"


def test_no_iso_tool_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(configdrive.shutil, "which", lambda name: None)
    with pytest.raises(configdrive.ConfigDriveError, match="genisoimage"):
        configdrive.build(INSTANCE, str(tmp_path / "disk.config"))
