"""The config drive: an ISO 9660 image labelled ``config-2`` that carries the
instance's metadata in OpenStack's layout, for guests (cloud-init, the tiny
image's init) that read it instead of a metadata service::

    openstack/latest/meta_data.json      uuid, name, hostname, project_id,
                                         launch_index, availability_zone,
                                         public_keys {key_name: key_data}, meta
    openstack/latest/user_data           the user data, decoded (if any)
    openstack/2012-08-10/...             the same, for older readers

meta_data.json has one top-level key per line (indent 2), so even a shell
guest can read a field with sed. Built with genisoimage, or xorriso's mkisofs
emulation when genisoimage is missing.
"""
import base64
import binascii
import json
import os
import re
import shutil
import subprocess
import tempfile

LABEL = "config-2"
VERSIONS = ("2012-08-10", "latest")
DEFAULT_AVAILABILITY_ZONE = "nova"
TOOLS = (["genisoimage"], ["xorriso", "-as", "mkisofs"])


class ConfigDriveError(Exception):
    pass


def build(instance_payload, path):
    """Write the config drive of ``instance_payload`` to ``path``; return path."""
    files = {"meta_data.json": json.dumps(meta_data(instance_payload), indent=2).encode()}
    user_data = decode_user_data(instance_payload.get("user_data"))
    if user_data is not None:
        files["user_data"] = user_data
    with tempfile.TemporaryDirectory(prefix="configdrive-") as tree:
        for version in VERSIONS:
            directory = os.path.join(tree, "openstack", version)
            os.makedirs(directory)
            for name, content in files.items():
                with open(os.path.join(directory, name), "wb") as out:
                    out.write(content)
        _make_iso(tree, path)
    return path


def meta_data(instance):
    keys = {}
    if instance.get("key_data"):
        keys[instance.get("key_name") or "key"] = instance["key_data"]
    return {
        "uuid": instance["uuid"],
        "name": instance.get("name") or "",
        "hostname": hostname(instance),
        "project_id": instance.get("project_id"),
        "launch_index": instance.get("launch_index") or 0,
        "availability_zone": instance.get("availability_zone") or DEFAULT_AVAILABILITY_ZONE,
        "public_keys": keys,
        "meta": dict(instance.get("metadata") or {}),
    }


def hostname(instance):
    """A DNS label from the display name (as Nova sanitizes it), else server-<uuid>."""
    name = re.sub(r"[^a-z0-9-]+", "-", (instance.get("name") or "").lower())
    name = name.strip("-.")[:63].rstrip("-")
    return name or f"server-{instance['uuid']}"


def decode_user_data(user_data):
    """The instance's user data (base64 text in the payload) as bytes, or None."""
    if not user_data:
        return None
    try:
        return base64.b64decode(user_data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigDriveError(f"the instance's user_data is not valid base64: {exc}") from exc


def _make_iso(tree, path):
    options = ["-o", path, "-ldots", "-allow-lowercase", "-allow-multidot", "-l",
               "-publisher", "nova-lite", "-quiet", "-J", "-r", "-V", LABEL, tree]
    for tool in TOOLS:
        if shutil.which(tool[0]):
            result = subprocess.run(tool + options, check=False, capture_output=True,
                                    text=True, stdin=subprocess.DEVNULL)
            if result.returncode != 0:
                if os.path.exists(path):
                    os.unlink(path)
                raise ConfigDriveError(f"{tool[0]} could not build the config drive: "
                                       f"{result.stderr.strip()}")
            return
    raise ConfigDriveError("building a config drive needs genisoimage (Debian package "
                           "genisoimage) or xorriso (Debian package xorriso)")
