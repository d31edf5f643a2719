"""Checked tokens are kept by the worker until min(expiry, ttl); invalid or
expired ones never are."""
import time
import types

import pytest

from nova_lite import conf, exception
from nova_lite.api.identity import tokens
from nova_lite.conf import CONF

USER = types.SimpleNamespace(id="u1", name="alice")
PROJECT = types.SimpleNamespace(id="p1", name="proj")


@pytest.fixture
def key(tmp_path, monkeypatch):
    conf.parse_args([], default_config_files=[])
    # No database here: the revocation check (tests/functional/test_identity*.py)
    # is out of this cache's story.
    monkeypatch.setattr(tokens, "_unrevoked", lambda claims: claims)
    path = str(tmp_path / "fernet.key")
    tokens.generate_key(path)
    CONF.set_override("fernet_key_file", path, group="identity")
    tokens.configure_cache()
    yield path
    CONF.clear_override("fernet_key_file", group="identity")
    CONF.clear_override("token_cache_ttl", group="api")
    CONF.clear_override("token_expiration", group="identity")
    tokens.configure_cache()


def test_a_valid_token_is_decrypted_once(key, monkeypatch):
    token, claims = tokens.issue(USER, PROJECT, ["member"])
    assert tokens.validate(token) == claims
    monkeypatch.setattr(tokens, "_get_fernet", lambda: pytest.fail("decrypted again"))
    assert tokens.validate(token) == claims


def test_a_cached_token_lapses_after_the_ttl(key, monkeypatch):
    token, _ = tokens.issue(USER, PROJECT, ["member"])
    tokens.validate(token)
    later = time.time() + CONF.api.token_cache_ttl + 1
    assert tokens._cache.get(token, now=later) is None


def test_a_cached_token_lapses_at_its_own_expiry(key):
    CONF.set_override("token_expiration", 60, group="identity")
    CONF.set_override("token_cache_ttl", 3600, group="api")
    tokens.configure_cache()
    token, claims = tokens.issue(USER, PROJECT, ["member"])
    tokens.validate(token)
    expires = time.time() + 60
    assert tokens._cache.get(token, now=expires - 1) == claims
    assert tokens._cache.get(token, now=expires + 0.01) is None


def test_invalid_tokens_are_401_and_not_kept(key):
    token, _ = tokens.issue(USER, PROJECT, ["member"])
    for bad in ("garbage", token[:-4] + "AAAA", ""):
        with pytest.raises(exception.NotAuthenticated):
            tokens.validate(bad)
    assert len(tokens._cache) == 0


def test_ttl_zero_turns_the_cache_off(key):
    CONF.set_override("token_cache_ttl", 0, group="api")
    tokens.configure_cache()
    token, claims = tokens.issue(USER, PROJECT, ["member"])
    assert tokens.validate(token) == claims
    assert len(tokens._cache) == 0


def test_a_new_key_forgets_the_tokens_of_the_old_one(key, tmp_path):
    token, _ = tokens.issue(USER, PROJECT, ["member"])
    tokens.validate(token)
    other = str(tmp_path / "other.key")
    tokens.generate_key(other)
    CONF.set_override("fernet_key_file", other, group="identity")
    fresh, _ = tokens.issue(USER, PROJECT, ["member"])      # loads the new key
    assert tokens._cache.get(token) is None
    with pytest.raises(exception.NotAuthenticated):
        tokens.validate(token)
    assert tokens.validate(fresh)["user_id"] == "u1"
