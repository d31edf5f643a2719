"""The outbox relay's timing: a wake sweeps, a linger gathers the wakes of
requests committing meanwhile into one sweep, and sweeps repeat while full."""
import threading
import time

from nova_lite.rpc import outbox


class Sweeps:
    """Stands in for outbox.flush: records when each sweep ran."""

    def __init__(self, results=()):
        self.times = []
        self.results = list(results)
        self.done = threading.Event()

    def __call__(self):
        self.times.append(time.monotonic())
        result = self.results.pop(0) if self.results else 0
        if not self.results:
            self.done.set()
        return result


def _wakes(relay, count, gap):
    started = time.monotonic()
    for _ in range(count):
        relay.wake()
        time.sleep(gap)
    return started


def test_lingering_relay_takes_many_wakes_in_one_sweep():
    sweeps = Sweeps()
    relay = outbox.Relay(interval=60, linger=0.5, sweep=sweeps).start()
    try:
        started = _wakes(relay, 5, 0.02)
        assert sweeps.done.wait(5)
        time.sleep(0.3)
        assert len(sweeps.times) == 1, "the wakes within the linger share one sweep"
        assert sweeps.times[0] - started >= 0.45
    finally:
        relay.stop()


def test_relay_without_linger_sweeps_at_the_first_wake():
    sweeps = Sweeps()
    relay = outbox.Relay(interval=60, linger=0.0, sweep=sweeps).start()
    try:
        started = _wakes(relay, 1, 0)
        assert sweeps.done.wait(5)
        assert sweeps.times[0] - started < 0.4
    finally:
        relay.stop()


def test_full_sweeps_repeat_without_waiting():
    sweeps = Sweeps(results=[outbox.BATCH, outbox.BATCH, 3])
    relay = outbox.Relay(interval=60, linger=0.5, sweep=sweeps).start()
    try:
        relay.wake()
        assert sweeps.done.wait(5)
        assert len(sweeps.times) == 3
        # Lingering between them would take 1 s for the three.
        assert sweeps.times[-1] - sweeps.times[0] < 0.4, "no linger between full sweeps"
    finally:
        relay.stop()
