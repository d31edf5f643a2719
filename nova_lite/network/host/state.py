"""What this compute service has plugged, on disk, so a restarted service
re-applies it and still knows what to remove.

    <state_path>/network/
      instances/<instance uuid>.json   the instance's network_info, as received
      host.json                        what was put on the host outside the
                                       nft tables: floating /32 addresses
      <network id>/                    dnsmasq of that network (see dhcp.py)

Files are written whole to a temporary name and renamed, so a crash never
leaves half a file.
"""
import json
import logging
import os
import re

from nova_lite.conf import CONF

LOG = logging.getLogger(__name__)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
INSTANCES = "instances"
HOST = "host.json"


def root():
    return os.path.join(CONF.state_path, "network")


def instances_dir():
    return os.path.join(root(), INSTANCES)


def _instance_path(instance_uuid):
    if not isinstance(instance_uuid, str) or not _NAME.match(instance_uuid):
        raise ValueError(f"{instance_uuid!r} is not an instance uuid")
    return os.path.join(instances_dir(), f"{instance_uuid}.json")


def save_instance(instance_uuid, network_info):
    write_json(_instance_path(instance_uuid), list(network_info or []))


def load_instance(instance_uuid):
    """The instance's network_info, or None if it is not plugged here."""
    return read_json(_instance_path(instance_uuid))


def delete_instance(instance_uuid):
    """True if the instance was plugged here."""
    try:
        os.unlink(_instance_path(instance_uuid))
    except FileNotFoundError:
        return False
    return True


def load_instances():
    """{instance uuid: network_info} of every instance plugged here, oldest
    file first (so newer information about a shared network wins)."""
    try:
        names = [n for n in os.listdir(instances_dir()) if n.endswith(".json")]
    except FileNotFoundError:
        return {}
    paths = sorted((os.path.join(instances_dir(), n) for n in names),
                   key=lambda p: (os.stat(p).st_mtime_ns, p))
    result = {}
    for path in paths:
        info = read_json(path)
        if info is not None:
            result[os.path.basename(path)[:-len(".json")]] = info
    return result


def load_host():
    return read_json(os.path.join(root(), HOST)) or {}


def save_host(data):
    write_json(os.path.join(root(), HOST), data)


def network_dir(network_id):
    if not _NAME.match(network_id) or network_id == INSTANCES:
        raise ValueError(f"{network_id!r} is not a network id")
    return os.path.join(root(), network_id)


def network_ids():
    """Networks with a directory here (a dnsmasq runs or ran for them)."""
    try:
        names = os.listdir(root())
    except FileNotFoundError:
        return []
    return sorted(n for n in names
                  if n != INSTANCES and os.path.isdir(os.path.join(root(), n)))


def read_json(path):
    """The file's JSON; None if it is missing or unreadable (logged)."""
    try:
        with open(path) as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
    except ValueError as exc:
        LOG.error("ignoring %s: not JSON (%s)", path, exc)
        return None


def write_json(path, data):
    write_file(path, json.dumps(data, indent=1, sort_keys=True) + "\n")


def write_file(path, text, mode=0o644):
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
