"""nova-lite CLI: when waiting stops, and what it reports."""
import io

import pytest
from rich.console import Console

from nova_lite.cli import wait


def server(status, task=None, progress=0, fault=None):
    body = {"id": "abc", "name": "web", "status": status,
            "OS-EXT-STS:task_state": task, "progress": progress}
    if fault:
        body["fault"] = {"code": 500, "message": fault}
    return body


@pytest.mark.parametrize("body, state", [
    (server("ACTIVE"), wait.ACTIVE), (server("ERROR"), wait.ERROR),
    (server("BUILD"), wait.PENDING), (server("active"), wait.ACTIVE),
    ({"id": "x"}, wait.PENDING), (None, wait.GONE),
])
def test_server_state(body, state):
    assert wait.server_state(body) == state


@pytest.mark.parametrize("state, target, elapsed, timeout, verdict", [
    (wait.ACTIVE, wait.ACTIVE, 1, 10, wait.DONE),
    (wait.ACTIVE, wait.ACTIVE, 10, 10, wait.DONE),        # reached at the deadline
    (wait.ERROR, wait.ACTIVE, 1, 10, wait.FAILED),
    (wait.GONE, wait.ACTIVE, 1, 10, wait.FAILED),          # deleted under us
    (wait.PENDING, wait.ACTIVE, 9.9, 10, wait.CONTINUE),
    (wait.PENDING, wait.ACTIVE, 10, 10, wait.TIMED_OUT),
    (wait.PENDING, wait.ACTIVE, 10 ** 6, None, wait.CONTINUE),
    (wait.GONE, wait.GONE, 1, 10, wait.DONE),
    (wait.PENDING, wait.GONE, 11, 10, wait.TIMED_OUT),
    (wait.ERROR, wait.GONE, 1, 10, wait.FAILED),
])
def test_decide(state, target, elapsed, timeout, verdict):
    assert wait.decide(state, target, elapsed, timeout) == verdict


def test_backoff_from_one_to_five_seconds():
    delays = [wait.FIRST_DELAY]
    for _ in range(8):
        delays.append(wait.next_delay(delays[-1]))
    assert delays[0] == 1.0 and delays[1] == 1.5
    assert delays == sorted(delays) and delays[-1] == wait.MAX_DELAY


def test_describe():
    assert wait.describe(server("BUILD", "spawning", 40)) == "BUILD, task spawning, 40%"
    assert wait.describe(server("BUILD", "spawning", 40), False) == "BUILD, task spawning"
    assert wait.describe(server("ACTIVE")) == "ACTIVE"
    assert wait.describe(None) == "deleted"


def test_failure_messages():
    failed = wait.Outcome(wait.FAILED, wait.ERROR,
                          server("ERROR", fault="No valid host was found."))
    assert wait.failure_message(failed, wait.ACTIVE, 60) == \
        "server web (abc) is in ERROR: No valid host was found."
    no_fault = wait.Outcome(wait.FAILED, wait.ERROR, server("ERROR"))
    assert "no fault message" in wait.failure_message(no_fault, wait.ACTIVE, 60)
    late = wait.Outcome(wait.TIMED_OUT, wait.PENDING, server("BUILD", "scheduling"))
    assert wait.failure_message(late, wait.ACTIVE, 3) == (
        "Timed out after 3 s waiting for server web (abc) to become ACTIVE; "
        "it is still BUILD, task scheduling")
    assert "to be deleted" in wait.failure_message(late, wait.GONE, 2.5)
    gone = wait.Outcome(wait.FAILED, wait.GONE, server("BUILD"))
    assert wait.failure_message(gone, wait.ACTIVE, 3) == \
        "server web (abc) was deleted before it became ACTIVE"
    assert wait.failure_message(wait.Outcome(wait.DONE, wait.ACTIVE, server("ACTIVE")),
                                wait.ACTIVE, 3) is None


class Clock:
    """A fake clock: sleeping moves it forward."""

    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def run_poll(bodies, target, timeout):
    clock, stream = Clock(), io.StringIO()
    seen = iter(bodies)
    reporter = wait.Reporter(Console(file=stream, width=200), "Building server web")
    outcome = wait.poll(lambda: next(seen), target, timeout, reporter, clock=clock,
                        sleep=clock.sleep)
    return outcome, clock, stream.getvalue()


def test_poll_until_active_reports_each_change_once():
    bodies = [server("BUILD", "scheduling"), server("BUILD", "scheduling"),
              server("BUILD", "spawning", 50), server("ACTIVE")]
    outcome, clock, text = run_poll(bodies, wait.ACTIVE, 60)
    assert outcome.verdict == wait.DONE and outcome.server["status"] == "ACTIVE"
    assert clock.sleeps == [1.0, 1.5, 2.25]
    assert text.splitlines() == [
        "[   0s] Building server web: BUILD, task scheduling",
        "[   2s] Building server web: BUILD, task spawning, 50%"]


def test_poll_error():
    outcome, _, _ = run_poll([server("BUILD"), server("ERROR", fault="boom")],
                             wait.ACTIVE, 60)
    assert outcome == wait.Outcome(wait.FAILED, wait.ERROR, server("ERROR", fault="boom"))


def test_poll_times_out_without_sleeping_past_the_deadline():
    outcome, clock, _ = run_poll([server("BUILD")] * 10, wait.ACTIVE, 3)
    assert outcome.verdict == wait.TIMED_OUT
    assert clock.sleeps == [1.0, 1.5, 0.5]
    assert clock.now == 103.0


def test_poll_until_gone_keeps_the_last_server_seen():
    outcome, _, _ = run_poll([server("ACTIVE", "deleting"), None], wait.GONE, 60)
    assert outcome == wait.Outcome(wait.DONE, wait.GONE, server("ACTIVE", "deleting"))


def test_terminal_reporter_draws_a_progress_bar():
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=120)
    seen = iter([server("BUILD", "spawning", 40), server("ACTIVE")])
    clock = Clock()
    outcome = wait.poll(lambda: next(seen), wait.ACTIVE, 60,
                        wait.Reporter(console, "Building [web]"), clock=clock,
                        sleep=clock.sleep)
    assert outcome.verdict == wait.DONE
    assert "Building [web]: BUILD, task spawning" in stream.getvalue()
