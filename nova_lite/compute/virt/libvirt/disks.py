"""Instance directories and root disks.

Layout: ``<[libvirt] instances_path>/<uuid>/`` holds ``disk`` (the qcow2 root
disk), ``disk.config`` (the config drive) and ``console.log``.

The root disk of a qcow2 image is a qcow2 overlay whose backing file is the
cached base image (``qemu-img create -f qcow2 -b <base> -F qcow2``), so it
costs nothing up front and the base is shared by every guest from that image;
images in any other format (raw, vmdk, ...) are converted into a standalone
qcow2 file. The disk then grows to the flavor's root_gb when that is larger.

Before use, the base file must really be what its disk_format says: a file
labelled raw whose header says qcow2 could name a host file as its backing
file, and a mislabelled or corrupt file would only fail later inside QEMU.
"""
import os
import shutil

from nova_lite.compute.virt.libvirt import commands
from nova_lite.conf import CONF

GiB = 1024 ** 3
ROOT_DISK = "disk"
CONFIG_DRIVE = "disk.config"
# disk_format -> qemu-img format name, for the formats a base may have.
FORMATS = {"qcow2": "qcow2", "raw": "raw", "vmdk": "vmdk", "vdi": "vdi",
           "vhd": "vpc", "vhdx": "vhdx"}


class ImageUnacceptable(Exception):
    pass


def instances_path():
    return CONF.libvirt.instances_path or os.path.join(CONF.state_path, "instances")


def instance_dir(instance_uuid):
    return os.path.join(instances_path(), instance_uuid)


def make_instance_dir(instance_uuid):
    """A fresh, empty directory for the instance (leftovers of an interrupted
    spawn are removed). Traversable by the unprivileged QEMU user."""
    path = instance_dir(instance_uuid)
    remove_instance_dir(instance_uuid)
    make_traversable_dir(instances_path())
    os.mkdir(path)
    os.chmod(path, 0o755)       # whatever the umask
    return path


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
