"""The sim driver and the fleet's report spreading, without services."""
import random
import threading
import time

import pytest

from nova_lite import conf
from nova_lite.compute.virt import driver as driver_mod
from nova_lite.compute.virt.sim import fleet
from nova_lite.compute.virt.sim.driver import SimDriver, SimulatedFailure
from nova_lite.conf import CONF
from nova_lite.objects import states
from nova_lite.rpc.multi_server import _Timers


@pytest.fixture(autouse=True)
def parsed():
    conf.parse_args([], default_config_files=[])
    yield
    CONF.clear_override("failure_rate", group="sim")
    CONF.clear_override("spawn_time", group="sim")


def test_the_loader_knows_sim():
    assert isinstance(driver_mod.load("sim"), SimDriver)


def test_spawn_destroy_and_power_actions():
    d = SimDriver("sim-00001")
    d.spawn({"uuid": "u1", "metadata": {}})
    assert d.exists("u1") and d.power_state("u1") == states.RUNNING
    d.power_off("u1")
    assert d.power_state("u1") == states.SHUTDOWN
    d.power_on("u1")
    d.destroy("u1")
    d.destroy("u1")                 # idempotent
    assert d.list_instances() == []
    with pytest.raises(driver_mod.InstanceNotFound):
        d.power_state("u1")
    assert d.host_resources()["hypervisor_hostname"] == "sim-00001"


def test_failures_are_injected_at_the_configured_rate():
    CONF.set_override("failure_rate", 0.25, group="sim")
    d = SimDriver("h", rng=random.Random(7))
    failed = 0
    for n in range(2000):
        try:
            d.spawn({"uuid": f"u{n}"})
        except SimulatedFailure:
            failed += 1
    assert 400 < failed < 600
    assert len(d.list_instances()) == 2000 - failed
    with pytest.raises(SimulatedFailure, match="on fire"):
        SimDriver("h").spawn({"uuid": "x", "metadata": {"sim_spawn_error": "on fire"}})


def test_spawn_and_delete_take_their_simulated_time():
    CONF.set_override("spawn_time", 1.5, group="sim")
    d = SimDriver("h")
    assert d.delay("build_and_run_instance") == 1.5
    assert d.delay("terminate_instance") == 0.0
    assert d.delay("stop_instance") == 0.0


def test_reports_are_spread_evenly_over_the_interval():
    sent = []
    spreader = fleet.Spreader([f"h{n}" for n in range(1000)], 10.0, sent.append)
    for _ in range(40):                  # 40 ticks of 0.25 s = one interval
        spreader.tick(0.25)
    sizes = [len(b) for b in sent]
    assert sum(sizes) == 1000
    assert max(sizes) - min(sizes) <= 1          # 25 a tick, never a burst
    assert sorted(h for b in sent for h in b) == sorted(f"h{n}" for n in range(1000))


def test_host_names_are_zero_padded_from_the_first_index():
    assert fleet.host_names(3, "sim-", 9998) == ["sim-09998", "sim-09999", "sim-10000"]


def test_timers_fire_in_order_without_a_thread_each():
    timers = _Timers("test-timers")
    fired = []
    done = threading.Event()
    for delay, name in ((0.2, "b"), (0.05, "a"), (0.3, "c")):
        timers.schedule(delay, lambda n: (fired.append(n), n == "c" and done.set()), name)
    assert done.wait(5)
    assert fired == ["a", "b", "c"]
    timers.stop()
    time.sleep(0.01)
