"""What plug/refresh/unplug record and when they reconcile
(nova_lite.network.host.plug and state). Reconciling itself (``_apply``)
touches the kernel and is replaced by a counter here; it is tested for real
in tests/functional/test_network_dataplane.py."""
import os

import pytest

from nova_lite.network.host import model, plug, state
from tests.fixtures import network_info as ni
from tests.fixtures.libvirtd import conf_overrides

INFO = [ni.vif(["10.0.0.5"], [ni.subnet("10.0.0.0/24")])]


@pytest.fixture
def applied(tmp_path, monkeypatch):
    runs = []
    monkeypatch.setattr(plug, "_apply", lambda: runs.append(state.load_instances()))
    monkeypatch.setattr(plug, "_PENDING", {})
    with conf_overrides({(None, "state_path"): str(tmp_path)}):
        yield runs


def test_plug_records_the_instance_and_applies(applied, tmp_path):
    plug.plug("u1", INFO)
    assert applied == [{"u1": INFO}]
    assert os.path.exists(tmp_path / "network" / "instances" / "u1.json")
    assert plug.plugged() == {"u1": INFO}


def test_plug_without_vifs_of_an_unknown_instance_does_nothing(applied, tmp_path):
    plug.plug("u1", [])
    plug.plug("u2", None)
    assert applied == [] and plug.plugged() == {}
    assert not os.path.exists(tmp_path / "network")


def test_bad_network_info_is_refused_before_anything_is_recorded(applied):
    with pytest.raises(model.InvalidNetworkInfo):
        plug.plug("u1", [dict(INFO[0], bridge="no good")])
    assert applied == [] and plug.plugged() == {}


def test_a_bad_refresh_of_one_instance_does_not_stop_the_others(applied):
    plug.plug("u1", INFO)
    plug.plug("u2", INFO)
    newer = [dict(INFO[0], security_group_rules=[ni.ICMP_IN])]
    plug.refresh({"u1": [dict(INFO[0], tap="x" * 20)], "u2": newer})
    assert applied[-1] == {"u1": INFO, "u2": newer}


def test_refresh_updates_known_instances_only(applied):
    plug.plug("u1", INFO)
    newer = [dict(INFO[0], security_group_rules=[ni.ICMP_IN])]
    plug.refresh({"u1": newer, "gone": INFO})
    assert applied[-1] == {"u1": newer}
    plug.refresh({"gone": INFO})
    assert len(applied) == 2                       # nothing plugged changed


def test_a_refresh_before_the_plug_wins_over_the_builds_network_info(applied):
    newer = [dict(INFO[0], security_group_rules=[ni.ICMP_IN])]
    plug.refresh({"building": newer})
    assert applied == []
    plug.plug("building", INFO)
    assert applied == [{"building": newer}]
    plug.plug("building", INFO)                    # used once
    assert applied[-1] == {"building": INFO}


def test_a_refresh_for_an_instance_that_went_away_is_forgotten(applied, monkeypatch):
    plug.refresh({"late": INFO})
    plug.unplug("late")
    assert "late" not in plug._PENDING
    plug.refresh({"old": INFO})
    monkeypatch.setattr(plug, "PENDING_SECONDS", -1)
    plug.refresh({})
    assert "old" not in plug._PENDING


def test_unplug_forgets_the_instance_once(applied):
    plug.plug("u1", INFO)
    plug.plug("u2", INFO)
    plug.unplug("u1")
    plug.unplug("u1")
    assert len(applied) == 3 and applied[-1] == {"u2": INFO}


def test_restore_applies_only_when_something_was_recorded(applied):
    plug.restore()
    assert applied == []
    plug.plug("u1", INFO)
    plug.restore()
    assert len(applied) == 2


def test_state_files_are_read_oldest_first_and_bad_ones_skipped(tmp_path):
    with conf_overrides({(None, "state_path"): str(tmp_path)}):
        state.save_instance("b", [1])
        state.save_instance("a", [2])
        os.utime(state._instance_path("b"), ns=(2_000_000_000 * 10**9,) * 2)
        with open(os.path.join(state.instances_dir(), "c.json"), "w") as handle:
            handle.write("{not json")
        assert list(state.load_instances()) == ["a", "b"]
        with pytest.raises(ValueError):
            state.save_instance("../x", [])
        assert state.network_ids() == []
