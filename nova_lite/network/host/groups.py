"""Members of remote security groups on this host: what the nftables sets
``g4_<group>`` / ``g6_<group>`` hold (see nova_lite.network.membership for who
sends what, and why every entry carries a pass number).

    <state_path>/network/groups/<group id>.json
        {"members": {address: pass}, "gone": {address: pass}}

``members`` is what the sets hold. ``gone`` remembers removals for
GONE_PASSES passes, so an older "add" that arrives after a newer "remove"
(messages are not ordered) is recognised as older and ignored. Pure
functions on a loaded record, plus loading and saving it; plug.py applies
the differences to the kernel.
"""
import ipaddress
import os
import re

from nova_lite.network.host import state

DIRECTORY = "groups"
GONE_PASSES = 3600          # an hour of passes at the default interval
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def set_name(group_id, version):
    """The nftables set of the group's IPv4 or IPv6 members."""
    return f"g{version}_" + re.sub(r"[^A-Za-z0-9_]", "", group_id)


def _path(group_id):
    if not isinstance(group_id, str) or not _ID.match(group_id):
        raise ValueError(f"{group_id!r} is not a security group id")
    return os.path.join(state.root(), DIRECTORY, f"{group_id}.json")


def load(group_id):
    """The group's record, or None if this host has none."""
    record = state.read_json(_path(group_id))
    if record is None:
        return None
    return {"members": dict(record.get("members") or {}),
            "gone": dict(record.get("gone") or {})}


def save(group_id, record):
    state.write_json(_path(group_id), record)


def recorded():
    """Ids of the groups this host has a record of."""
    try:
        names = os.listdir(os.path.join(state.root(), DIRECTORY))
    except FileNotFoundError:
        return set()
    return {name[:-len(".json")] for name in names if name.endswith(".json")}


def forget(group_id):
    try:
        os.unlink(_path(group_id))
    except FileNotFoundError:
        pass


def addresses(group_id):
    """The members of a group this host has a record of ([] if none)."""
    record = load(group_id)
    return sorted(record["members"]) if record else []


def new_record():
    return {"members": {}, "gone": {}}


def update(record, pass_number, add=(), remove=()):
    """Apply one pass's changes; returns (added, removed): what the sets must
    gain and lose. An entry older than what the record knows of that
    address is ignored."""
    added, removed = [], []
    for address in add:
        address = _address(address)
        if _newer(record, address, pass_number):
            if address not in record["members"]:
                added.append(address)
            record["gone"].pop(address, None)
            record["members"][address] = pass_number
    for address in remove:
        address = _address(address)
        if _newer(record, address, pass_number):
            if record["members"].pop(address, None) is not None:
                removed.append(address)
            record["gone"][address] = pass_number
    _expire(record, pass_number)
    return added, removed


def replace(record, pass_number, members):
    """Apply a whole membership read in ``pass_number``: it wins over what
    the record learnt in that pass or before, not over anything newer."""
    wanted = {_address(a) for a in members}
    added, removed = update(record, pass_number, add=wanted)
    stale = [a for a, seen in record["members"].items()
             if a not in wanted and seen <= pass_number]
    removed += update(record, pass_number, remove=stale)[1]
    return added, removed


def _newer(record, address, pass_number):
    seen = record["members"].get(address, record["gone"].get(address))
    return seen is None or pass_number >= seen


def _expire(record, pass_number):
    horizon = pass_number - GONE_PASSES
    for address in [a for a, seen in record["gone"].items() if seen < horizon]:
        del record["gone"][address]


def _address(value):
    """Validated, normalised (what goes into nft text must be an address)."""
    return str(ipaddress.ip_address(str(value).split("/")[0]))


def version(address):
    return ipaddress.ip_address(address).version
