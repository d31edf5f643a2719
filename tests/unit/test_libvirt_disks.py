"""Root disks: overlays on qcow2 bases, converted copies of raw ones, resize
to the flavor, and refusal of files that are not what they claim."""
import json
import os
import subprocess

import pytest

from nova_lite.compute.virt.driver import LocalImage
from nova_lite.compute.virt.libvirt import disks

MiB = 1024 ** 2
GiB = 1024 ** 3


def info(path):
    return json.loads(subprocess.run(["qemu-img", "info", "--output=json", str(path)],
                                     capture_output=True, text=True, check=True).stdout)


def make(tmp_path, fmt, size="32M", name=None):
    path = tmp_path / (name or f"base.{fmt}")
    subprocess.run(["qemu-img", "create", "-q", "-f", fmt, str(path), size], check=True)
    return path


@pytest.fixture
def out(tmp_path):
    directory = tmp_path / "instance"
    directory.mkdir()
    return directory


def test_qcow2_base_gets_an_overlay(tmp_path, out):
    base = make(tmp_path, "qcow2")
    path = disks.create_root_disk(LocalImage("i", str(base), "qcow2"), str(out), 0)
    disk = info(path)
    assert disk["format"] == "qcow2"
    assert disk["backing-filename"] == str(base)
    assert disk["backing-filename-format"] == "qcow2"
    assert disk["virtual-size"] == 32 * MiB


def test_raw_base_is_converted_to_a_standalone_qcow2(tmp_path, out):
    base = make(tmp_path, "raw")
    path = disks.create_root_disk(LocalImage("i", str(base), "raw"), str(out), 1)
    disk = info(path)
    assert disk["format"] == "qcow2"
    assert "backing-filename" not in disk
    assert disk["virtual-size"] == GiB


def test_disk_grows_to_root_gb(tmp_path, out):
    base = make(tmp_path, "qcow2")
    path = disks.create_root_disk(LocalImage("i", str(base), "qcow2"), str(out), 2)
    assert info(path)["virtual-size"] == 2 * GiB


def test_flavor_smaller_than_image_is_refused(tmp_path, out):
    base = make(tmp_path, "qcow2", size="2G")
    with pytest.raises(disks.ImageUnacceptable, match="smaller than the image"):
        disks.create_root_disk(LocalImage("i", str(base), "qcow2"), str(out), 1)


def test_random_bytes_labelled_qcow2_are_refused(tmp_path, out):
    bad = tmp_path / "bad"
    bad.write_bytes(os.urandom(4096))
    with pytest.raises(disks.ImageUnacceptable, match="labelled qcow2 but its content is raw"):
        disks.create_root_disk(LocalImage("i", str(bad), "qcow2"), str(out), 1)
    assert os.listdir(out) == []


def test_qcow2_labelled_raw_is_refused(tmp_path, out):
    base = make(tmp_path, "qcow2")
    with pytest.raises(disks.ImageUnacceptable, match="labelled raw but its content is qcow2"):
        disks.create_root_disk(LocalImage("i", str(base), "raw"), str(out), 1)


def test_base_with_a_backing_file_is_refused(tmp_path, out):
    base = make(tmp_path, "qcow2")
    top = tmp_path / "top.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2",
                    str(top)], check=True)
    with pytest.raises(disks.ImageUnacceptable, match="refers to another file"):
        disks.create_root_disk(LocalImage("i", str(top), "qcow2"), str(out), 1)


def test_unknown_disk_format_is_refused(tmp_path, out):
    base = make(tmp_path, "raw")
    with pytest.raises(disks.ImageUnacceptable, match="disk_format 'iso' cannot boot"):
        disks.create_root_disk(LocalImage("i", str(base), "iso"), str(out), 1)


def test_instance_dir_is_fresh(tmp_path):
    from tests.fixtures.libvirtd import conf_overrides
    with conf_overrides({(None, "state_path"): str(tmp_path)}):
        first = disks.make_instance_dir("u1")
        open(os.path.join(first, "leftover"), "w").close()
        second = disks.make_instance_dir("u1")
        assert first == second == str(tmp_path / "instances" / "u1")
        assert os.listdir(second) == []
        assert os.stat(second).st_mode & 0o777 == 0o755
        disks.remove_instance_dir("u1")
        disks.remove_instance_dir("u1")
        assert not os.path.exists(second)


def test_truncated_qcow2_is_refused(tmp_path, out):
    base = make(tmp_path, "qcow2", size="8M")
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 4M", str(base)],
                   check=True, capture_output=True)
    os.truncate(base, 1024 * 1024)
    with pytest.raises(disks.ImageUnacceptable, match="corrupt qcow2 file"):
        disks.create_root_disk(LocalImage("i", str(base), "qcow2"), str(out), 1)
    assert os.listdir(out) == []


def test_created_directories_are_traversable_whatever_the_umask(tmp_path):
    old = os.umask(0o077)
    try:
        disks.make_traversable_dir(str(tmp_path / "a" / "b"))
    finally:
        os.umask(old)
    for path in (tmp_path / "a", tmp_path / "a" / "b"):
        assert os.stat(path).st_mode & 0o777 == 0o755
