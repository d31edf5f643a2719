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
        assert os.stat(second).st_mode & 0o777 == 0o750
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


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_a_guests_files_are_0600_for_qemu_in_a_0750_directory_whatever_the_umask(
        tmp_path, umask):
    """The files the driver writes for a guest, on a real filesystem: root
    disk (overlay and converted copy), config drive (user data, keys) and
    console log are 0600 and QEMU's; the instance directory is 0750, root's
    and QEMU's group's; the directories above stay traversable (0755)."""
    from tests.fixtures.libvirtd import conf_overrides
    uid, gid = disks.qemu_owner()
    instance = {"uuid": "u-modes", "name": "modes", "metadata": {}, "project_id": "p",
                "user_data": "c2VjcmV0", "key_name": "k", "key_data": "ssh-ed25519 AAAA k"}
    old = os.umask(umask)
    try:
        with conf_overrides({(None, "state_path"): str(tmp_path / "state")}):
            directory = disks.make_instance_dir("u-modes")
            files = [disks.create_root_disk(LocalImage("i", str(make(tmp_path, fmt)), fmt),
                                            directory, 1)
                     for fmt in ("qcow2", "raw")]
            files.append(disks.create_config_drive(instance, directory))
            files.append(disks.create_console_log(directory))
    finally:
        os.umask(old)
    mode = os.stat(directory)
    assert (mode.st_mode & 0o777, mode.st_uid, mode.st_gid) == (0o750, 0, gid)
    assert os.stat(os.path.dirname(directory)).st_mode & 0o777 == 0o755
    assert sorted(os.listdir(directory)) == ["console.log", "disk", "disk.config"]
    for path in files:
        found = os.stat(path)
        assert (found.st_mode & 0o777, found.st_uid, found.st_gid) == (0o600, uid, gid), path


@pytest.mark.parametrize("text, expected", [
    ('user = "root"\ngroup = "root"\n', (0, 0)),
    ('user = "+4242"\ngroup = "+4343"\n', (4242, 4343)),
    ('#user = "nobody"\n  user   =  "+7"\ngroup = "+8"\n', (7, 8)),
])
def test_qemu_owner_is_what_qemu_conf_says(tmp_path, text, expected):
    conf = tmp_path / "qemu.conf"
    conf.write_text(text)
    assert disks.qemu_owner(str(conf)) == expected


def test_qemu_owner_without_settings_is_debians_default_else_root(tmp_path):
    import grp
    import pwd
    conf = tmp_path / "qemu.conf"
    conf.write_text('# user = "root"\n')
    try:
        expected = (pwd.getpwnam("libvirt-qemu").pw_uid, grp.getgrnam("libvirt-qemu").gr_gid)
    except KeyError:
        expected = (0, 0)
    assert disks.qemu_owner(str(conf)) == expected
    assert disks.qemu_owner(str(tmp_path / "missing.conf")) == expected
