"""The flavors server create boots from, looked up by flavorid in one
indexed query and kept by each worker for ``[api] flavor_cache_ttl`` seconds
(10 by default; 0 looks every create up).

Only found flavors are kept, so a new flavor is bootable at once. A flavor
deleted (or disabled in the database) is refused by this worker at once and
by the other workers within the ttl at most; a flavor deleted and made again
under the same id meanwhile boots with its old sizes until then. Flavors
cannot be changed in place through the API.

Who may boot a private flavor is not kept: server create asks
nova_lite.db.flavors.granted (one indexed query) for each create of a private
flavor by a non-admin, so a grant or its removal counts at once; a public
flavor costs no statement more."""
from typing import NamedTuple

from sqlalchemy import bindparam, select

from nova_lite.api.ttl_cache import TTLCache
from nova_lite.conf import CONF
from nova_lite.db import models

F = models.Flavor
MAX_FLAVORS = 1024


class Flavor(NamedTuple):
    """What a server takes from its flavor (read-only; shared between requests)."""
    flavorid: str
    name: str
    vcpus: int
    memory_mb: int
    root_gb: int
    ephemeral_gb: int
    swap: int
    extra_specs: dict
    disabled: bool
    is_public: bool
    pk: int                 # flavors.id, what flavor_projects points at


_BY_ID = select(F.flavorid, F.name, F.vcpus, F.memory_mb, F.root_gb, F.ephemeral_gb,
                F.swap, F.extra_specs, F.disabled, F.is_public, F.id).where(
                    F.flavorid == bindparam("flavorid"))
_cache = None


def configure():
    """(Re)build this process's cache from [api] flavor_cache_ttl."""
    global _cache
    _cache = TTLCache(CONF.api.flavor_cache_ttl, MAX_FLAVORS)
    return _cache


def lookup(session, flavorid):
    """The flavor with this flavorid (disabled or not), or None."""
    cache = _cache if _cache is not None else configure()
    flavor = cache.get(flavorid)
    if flavor is None:
        row = session.execute(_BY_ID, {"flavorid": flavorid}).first()
        if row is None:
            return None
        flavor = Flavor(*row)
        cache.put(flavorid, flavor)
    return flavor


def forget():
    """Drop what this worker keeps (a flavor was made or deleted here)."""
    if _cache is not None:
        _cache.clear()
