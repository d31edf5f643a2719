"""Fernet tokens. A token carries its own claims (user, project, roles, expiry,
audit id, application credential), sealed with the key in [identity]
fernet_key_file, so any API worker checks it without a database round trip.

A worker keeps the tokens it has checked in a bounded LRU keyed by the token
(``[api] token_cache_size``), each until min(its expiry, checked + ``[api]
token_cache_ttl``, 60 s by default; 0 turns the cache off), so a client's
next requests skip the Fernet decrypt (HMAC + AES) and the JSON parse. Only
valid tokens are cached. A token, cached or not, is then checked against
the revocation events (nova_lite.db.revocations: logout, a user or project
disabled or deleted, a password changed, a role assignment removed, an
application credential deleted), kept in this process's memory and current
through PostgreSQL LISTEN/NOTIFY, so a revocation holds at once on every
worker. A change of [identity] fernet_key_file empties the cache."""
import datetime
import json
import os
import threading
import uuid

from cryptography.fernet import Fernet, InvalidToken

from nova_lite import exception
from nova_lite.api.ttl_cache import TTLCache
from nova_lite.conf import CONF
from nova_lite.db import revocations

_lock = threading.Lock()
_fernet = None
_fernet_path = None
_cache = None


def generate_key(path):
    """Write a new key to ``path`` (mode 0600) unless one is there already."""
    if os.path.exists(path):
        return False
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(Fernet.generate_key())
    return True


def _get_fernet():
    global _fernet, _fernet_path
    path = CONF.identity.fernet_key_file
    with _lock:
        if _fernet is None or _fernet_path != path:
            try:
                with open(path, "rb") as f:
                    _fernet = Fernet(f.read().strip())
            except FileNotFoundError:
                raise exception.ServiceUnavailable(
                    f"The token key {path} does not exist; run "
                    "`nova-lite-manage token-key create`.") from None
            _fernet_path = path
            if _cache is not None:
                _cache.clear()          # tokens of another key are not checked ones
        return _fernet


def configure_cache():
    """(Re)build this process's token cache from [api] token_cache_*."""
    global _cache
    _cache = TTLCache(CONF.api.token_cache_ttl, CONF.api.token_cache_size)
    return _cache


def _token_cache():
    return _cache if _cache is not None else configure_cache()


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def isoformat(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def issue(user, project, roles, methods=("password",), app_cred=None):
    """Seal a new token; return (token, claims)."""
    issued = now()
    expires = issued + datetime.timedelta(seconds=CONF.identity.token_expiration)
    claims = {
        "user_id": user.id, "user_name": user.name,
        "project_id": project.id if project else None,
        "project_name": project.name if project else None,
        "roles": sorted(roles), "methods": list(methods),
        "issued_at": isoformat(issued), "expires_at": isoformat(expires),
        "audit_id": uuid.uuid4().hex[:22],
    }
    if app_cred is not None:             # its tokens go when it is deleted
        claims["app_cred_id"], claims["app_cred_name"] = app_cred.id, app_cred.name
    token = _get_fernet().encrypt(json.dumps(claims).encode()).decode()
    return token, claims


def validate(token):
    """The claims of a valid, unexpired, unrevoked token (read-only: they may
    be shared with other requests), or 401."""
    cache = _token_cache()
    if isinstance(token, str):
        claims = cache.get(token)
        if claims is not None:
            return _unrevoked(claims)
    try:
        claims = json.loads(_get_fernet().decrypt(token.encode(),
                                                  ttl=CONF.identity.token_expiration))
    except (InvalidToken, ValueError, TypeError):
        raise exception.NotAuthenticated("The request you have made requires "
                                         "authentication.") from None
    expires = datetime.datetime.strptime(claims["expires_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    expires = expires.replace(tzinfo=datetime.timezone.utc)
    if expires <= now():
        raise exception.NotAuthenticated("The token has expired.")
    _unrevoked(claims)
    cache.put(token, claims, expires.timestamp())
    return claims


def _unrevoked(claims):
    if revocations.current().is_revoked(claims):
        raise exception.NotAuthenticated("The token has been revoked.")
    return claims
