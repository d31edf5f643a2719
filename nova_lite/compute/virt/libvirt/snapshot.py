"""Snapshots: a standalone qcow2 copy of a guest's root disk (its backing
image flattened in), written with ``qemu-img convert -O qcow2``.

A running guest is paused for the copy: pausing makes QEMU drain and flush
every pending write, so the file on disk is a crash-consistent image; the
guest resumes as soon as the copy is done. ``-U`` lets qemu-img read the
image QEMU holds locked. A shut-off, paused or suspended guest is copied as
it is. The copy is written next to the target and renamed into place, so
``target_path`` is either complete or absent.
"""
import contextlib
import os

from nova_lite.compute.virt.libvirt import commands, power

DISK_FORMAT = "qcow2"


def snapshot(dom, disk_path, target_path):
    """Copy ``dom``'s root disk at ``disk_path`` to ``target_path``; the format."""
    partial = f"{target_path}.part"
    with _paused(dom):
        try:
            commands.run(["qemu-img", "convert", "-U", "-f", "qcow2", "-O", DISK_FORMAT,
                          disk_path, partial])
            os.replace(partial, target_path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)
            raise
    return DISK_FORMAT


@contextlib.contextmanager
def _paused(dom):
    running = dom.state()[0] in (power.RUNNING, power.BLOCKED)
    if running:
        dom.suspend()
    try:
        yield
    finally:
        if running:
            dom.resume()
