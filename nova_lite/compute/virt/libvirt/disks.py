"""Instance directories, root disks and the other files of a guest.

Layout: ``<[libvirt] instances_path>/<uuid>/`` holds ``disk`` (the qcow2 root
disk), ``disk.config`` (the config drive) and ``console.log``.

A guest's files hold its data, user data and keys: each is mode 0600, owned
by the user QEMU runs as (``qemu_owner``: root in the Ansible deploy,
libvirt-qemu on a stock Debian libvirt), and the instance directory is 0750,
owned by root and QEMU's group, whatever the umask. The directories above it
stay 0755 (QEMU must reach the base images in ``_base``).

The root disk of a qcow2 image is a qcow2 overlay whose backing file is the
cached base image (``qemu-img create -f qcow2 -b <base> -F qcow2``), so it
costs nothing up front and the base is shared by every guest from that image;
images in any other format (raw, vmdk, ...) are converted into a standalone
qcow2 file. The disk then grows to the flavor's root_gb when that is larger.

Before use, the base file must really be what its disk_format says: a file
labelled raw whose header says qcow2 could name a host file as its backing
file, and a mislabelled or corrupt file would only fail later inside QEMU.
"""
import grp
import os
import pwd
import re
import shutil

from nova_lite.compute import configdrive
from nova_lite.compute.virt.libvirt import commands, console
from nova_lite.conf import CONF

GiB = 1024 ** 3
ROOT_DISK = "disk"
CONFIG_DRIVE = "disk.config"
FILE_MODE = 0o600
DIR_MODE = 0o750
# What Debian's libvirt runs QEMU as when qemu.conf names no user or group.
DEBIAN_QEMU = ("libvirt-qemu", "libvirt-qemu")
# disk_format -> qemu-img format name, for the formats a base may have.
FORMATS = {"qcow2": "qcow2", "raw": "raw", "vmdk": "vmdk", "vdi": "vdi",
           "vhd": "vpc", "vhdx": "vhdx"}


class ImageUnacceptable(Exception):
    pass


def instances_path():
    return CONF.libvirt.instances_path or os.path.join(CONF.state_path, "instances")


def instance_dir(instance_uuid):
    return os.path.join(instances_path(), instance_uuid)


def _setting(text, name):
    match = re.search(rf'^\s*{name}\s*=\s*"([^"]*)"', text, re.MULTILINE)
    return match.group(1) if match else None


def _uid(user):
    return int(user[1:]) if user.startswith("+") else pwd.getpwnam(user).pw_uid


def _gid(group):
    return int(group[1:]) if group.startswith("+") else grp.getgrnam(group).gr_gid


def qemu_owner(conf_path=None):
    """(uid, gid) QEMU runs as: ``user``/``group`` of [libvirt] qemu_conf;
    when unset, Debian's libvirt-qemu (user and group) if it exists, else root."""
    try:
        with open(conf_path or CONF.libvirt.qemu_conf) as handle:
            text = handle.read()
    except FileNotFoundError:
        text = ""
    user, group = _setting(text, "user"), _setting(text, "group")
    try:
        uid = _uid(user or DEBIAN_QEMU[0])
        gid = _gid(group or DEBIAN_QEMU[1])
    except KeyError:
        if user or group:
            raise
        return 0, 0
    return uid, gid


def _give(path, mode, uid=-1, gid=-1):
    """chmod ``path`` to ``mode`` and chown it (when we may: as root)."""
    os.chmod(path, mode)
    if os.geteuid() == 0:
        os.chown(path, uid, gid)


def secure_file(path, owner=None):
    """A guest file: mode 0600, owned by QEMU's user and group."""
    uid, gid = owner or qemu_owner()
    _give(path, FILE_MODE, uid, gid)
    return path


def make_instance_dir(instance_uuid):
    """A fresh, empty directory for the instance (leftovers of an interrupted
    spawn are removed): 0750, root's, group QEMU's (which must reach the
    files inside)."""
    path = instance_dir(instance_uuid)
    remove_instance_dir(instance_uuid)
    make_traversable_dir(instances_path())
    os.mkdir(path, DIR_MODE)
    _give(path, DIR_MODE, 0, qemu_owner()[1])       # whatever the umask
    return path


def create_config_drive(instance, directory):
    """The instance's config drive (user data, keys) in ``directory``; its path."""
    return secure_file(configdrive.build(instance, os.path.join(directory, CONFIG_DRIVE)))


def create_console_log(directory):
    """The (empty) serial console log QEMU appends to; its path."""
    path = console.log_path(directory)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    os.close(fd)
    return secure_file(path)


def make_traversable_dir(path):
    """Create ``path`` and any missing parents with mode 0755 whatever the
    umask (QEMU runs as another user and must reach the files inside)."""
    if os.path.isdir(path):
        return
    make_traversable_dir(os.path.dirname(os.path.abspath(path)))
    try:
        os.mkdir(path)
    except FileExistsError:
        return
    os.chmod(path, 0o755)


def remove_instance_dir(instance_uuid):
    shutil.rmtree(instance_dir(instance_uuid), ignore_errors=True)


def create_root_disk(image, directory, root_gb):
    """The instance's root disk from ``image`` (a LocalImage); its path."""
    fmt = check_image(image)
    path = os.path.join(directory, ROOT_DISK)
    base = os.path.abspath(image.path)
    if fmt == "qcow2":
        commands.run(["qemu-img", "create", "-f", "qcow2", "-b", base, "-F", fmt, path])
    else:
        commands.run(["qemu-img", "convert", "-f", fmt, "-O", "qcow2", base, path])
    secure_file(path)
    grow(path, root_gb)
    return path


def check_image(image):
    """The image's qemu-img format, after checking the file is one, of its
    declared disk_format, with no backing or external data file."""
    fmt = FORMATS.get(image.disk_format)
    if fmt is None:
        raise ImageUnacceptable(f"image {image.image_id}: disk_format {image.disk_format!r} "
                                f"cannot boot here; use one of {', '.join(FORMATS)}")
    try:
        info = commands.image_info(image.path)
    except commands.CommandError as exc:
        raise ImageUnacceptable(f"image {image.image_id} is unreadable: {exc}") from exc
    if info.get("format") != fmt:
        raise ImageUnacceptable(f"image {image.image_id} is labelled {image.disk_format} but "
                                f"its content is {info.get('format')}")
    if info.get("backing-filename") or info.get("format-specific", {}).get(
            "data", {}).get("data-file"):
        raise ImageUnacceptable(f"image {image.image_id} refers to another file (backing "
                                "or data file); only standalone images are accepted")
    if fmt == "qcow2":
        _check_qcow2(image)
    return fmt


def _check_qcow2(image):
    """``qemu-img check``: corrupt metadata (e.g. a truncated file) is refused;
    leaked clusters (exit code 3) are harmless."""
    try:
        commands.run(["qemu-img", "check", "-q", "-U", "-f", "qcow2", image.path],
                     ok_codes=(0, 3))
    except commands.CommandError as exc:
        raise ImageUnacceptable(f"image {image.image_id} is a corrupt qcow2 file: "
                                f"{str(exc)[-300:]}") from exc


def grow(path, root_gb):
    """Resize the disk to ``root_gb`` GiB if that is larger (0: image size).
    A flavor disk smaller than the image is an error."""
    if not root_gb:
        return
    size = commands.image_info(path)["virtual-size"]
    wanted = root_gb * GiB
    if wanted < size:
        raise ImageUnacceptable(f"the flavor's root disk ({root_gb} GiB) is smaller than "
                                f"the image ({size} bytes)")
    if wanted > size:
        commands.run(["qemu-img", "resize", "-q", "-f", "qcow2", path, str(wanted)])
