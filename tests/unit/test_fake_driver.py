"""The fake driver's injection by instance metadata: a spawn that fails, and a
spawn that takes a while (how tests keep a server in BUILD)."""
import pytest

from nova_lite.compute.virt import fake
from nova_lite.conf import CONF


@pytest.fixture
def sleeps(monkeypatch):
    slept = []
    monkeypatch.setattr(fake.time, "sleep", slept.append)
    return slept


def instance(**metadata):
    return {"uuid": "u-1", "name": "vm", "metadata": metadata}


@pytest.mark.parametrize("value, expected", [
    ("2.5", [2.5]), ("1e9", [fake.MAX_DELAY]), ("-3", []), ("nan", []),
    ("soon", []), ("", [])])
def test_spawn_seconds_from_metadata(sleeps, value, expected):
    driver = fake.FakeDriver()
    driver.spawn(instance(**{fake.DELAY_KEY: value}))
    assert sleeps == expected
    assert driver.exists("u-1")


def test_metadata_delay_adds_to_the_configured_one(sleeps):
    CONF.set_override("spawn_seconds", 1.0, group="fake")
    try:
        fake.FakeDriver().spawn(instance(**{fake.DELAY_KEY: "0.5"}))
    finally:
        CONF.clear_override("spawn_seconds", group="fake")
    assert sleeps == [1.5]


def test_spawn_error_from_metadata_leaves_no_guest(sleeps):
    driver = fake.FakeDriver()
    with pytest.raises(fake.SpawnError, match="disk exploded"):
        driver.spawn(instance(**{fake.FAIL_KEY: "disk exploded"}))
    assert not driver.exists("u-1") and sleeps == []
