"""The API's small LRU with lapsing entries (checked tokens, flavors)."""
from nova_lite.api.ttl_cache import TTLCache


def test_an_entry_lives_until_its_ttl():
    cache = TTLCache(ttl=60, size=10)
    cache.put("k", "v", now=1000.0)
    assert cache.get("k", now=1059.9) == "v"
    assert cache.get("k", now=1060.0) is None
    assert len(cache) == 0                       # a lapsed entry is dropped


def test_an_entry_never_outlives_its_own_deadline():
    cache = TTLCache(ttl=60, size=10)
    cache.put("k", "v", deadline=1010.0, now=1000.0)
    assert cache.get("k", now=1009.0) == "v"
    assert cache.get("k", now=1010.0) is None
    cache.put("gone", "v", deadline=999.0, now=1000.0)   # already past: not kept
    assert cache.get("gone", now=1000.0) is None


def test_the_least_recently_used_go_first():
    cache = TTLCache(ttl=60, size=2)
    cache.put("a", 1, now=0.0)
    cache.put("b", 2, now=0.0)
    assert cache.get("a", now=1.0) == 1          # a is now the most recent
    cache.put("c", 3, now=1.0)
    assert cache.get("b", now=1.0) is None
    assert (cache.get("a", now=1.0), cache.get("c", now=1.0)) == (1, 3)


def test_zero_ttl_keeps_nothing_and_pop_clear_forget():
    off = TTLCache(ttl=0, size=10)
    off.put("k", "v")
    assert off.get("k") is None and not off.enabled
    cache = TTLCache(ttl=60, size=10)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.pop("a")
    assert cache.get("a") is None and cache.get("b") == 2
    cache.clear()
    assert len(cache) == 0
