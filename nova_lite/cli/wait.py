"""Waiting for a server to settle (``--wait``): poll it every second, backing
off to every five, show its status, task state and progress live, and decide
when to stop: the target state reached, ERROR, or the timeout."""
import time
import typing

from rich.progress import (BarColumn, Progress, SpinnerColumn, TaskProgressColumn,
                           TextColumn, TimeElapsedColumn)

# What a poll finds.
ACTIVE = "ACTIVE"
ERROR = "ERROR"
GONE = "GONE"          # GET returned 404: deleted
PENDING = "PENDING"

# What to do about it.
DONE = "done"
FAILED = "failed"
TIMED_OUT = "timed out"
CONTINUE = "continue"

FIRST_DELAY = 1.0
MAX_DELAY = 5.0
BACKOFF = 1.5


def server_state(server):
    """ACTIVE, ERROR, GONE (``None``: the server is gone) or PENDING."""
    if server is None:
        return GONE
    status = (server.get("status") or "").upper()
    return status if status in (ACTIVE, ERROR) else PENDING


class Outcome(typing.NamedTuple):
    """How a wait ended: the verdict, the last state seen and the last server
    seen (as it was before it disappeared, if it did)."""
    verdict: str
    state: str
    server: dict


def decide(state, target, elapsed, timeout):
    """Stop when the target is reached (even at the deadline), fail on ERROR
    (or on the server vanishing while waiting for something else), time out
    once ``elapsed`` reaches ``timeout`` (``None``: never)."""
    if state == target:
        return DONE
    if state in (ERROR, GONE):
        return FAILED
    if timeout is not None and elapsed >= timeout:
        return TIMED_OUT
    return CONTINUE


def next_delay(delay):
    return min(delay * BACKOFF, MAX_DELAY)


def describe(server, with_progress=True):
    """``BUILD, task spawning, 40%`` for a status line."""
    if server is None:
        return "deleted"
    parts = [server.get("status") or "UNKNOWN"]
    task = server.get("OS-EXT-STS:task_state")
    if task:
        parts.append(f"task {task}")
    progress = server.get("progress")
    if progress and with_progress:
        parts.append(f"{progress}%")
    return ", ".join(parts)


def label(server):
    return f"server {server.get('name')} ({server.get('id')})"


def fault_message(server):
    fault = (server or {}).get("fault") or {}
    return fault.get("message") or "the server recorded no fault message"


def failure_message(outcome, target, timeout):
    """The error to report for a wait that did not end in DONE, else ``None``."""
    server = outcome.server or {}
    if outcome.verdict == FAILED and outcome.state == GONE:
        return f"{label(server)} was deleted before it became {target}"
    if outcome.verdict == FAILED:
        return f"{label(server)} is in ERROR: {fault_message(server)}"
    if outcome.verdict == TIMED_OUT:
        goal = "be deleted" if target == GONE else f"become {target}"
        return (f"Timed out after {timeout:g} s waiting for {label(server)} to "
                f"{goal}; it is still {describe(server)}")
    return None


class Reporter:
    """Live progress on stderr: a spinner with elapsed time and a progress bar
    on a terminal, otherwise one line each time the status changes."""

    def __init__(self, console, title):
        self.console = console
        self.title = title
        self._last = None
        self._progress = None
        self._task = None

    def __enter__(self):
        if self.console.is_terminal:
            self._progress = Progress(
                SpinnerColumn(), TextColumn("{task.description}", markup=False),
                BarColumn(bar_width=20), TaskProgressColumn(), TimeElapsedColumn(),
                console=self.console, transient=True)
            self._progress.start()
            self._task = self._progress.add_task(self.title, total=100)
        return self

    def update(self, server, elapsed):
        if self._progress is not None:          # the bar shows the progress
            self._progress.update(self._task,
                                  description=f"{self.title}: {describe(server, False)}",
                                  completed=(server or {}).get("progress") or 0)
            return
        text = f"{self.title}: {describe(server)}"
        if text != self._last:
            self.console.print(f"[{elapsed:4.0f}s] {text}", markup=False,
                               soft_wrap=True)
            self._last = text

    def __exit__(self, *exc_info):
        if self._progress is not None:
            self._progress.stop()


def poll(fetch, target, timeout, reporter, clock=time.monotonic, sleep=time.sleep):
    """Call ``fetch()`` (a server dict, or ``None`` once deleted) until
    ``decide`` says stop; return the ``Outcome``."""
    start = clock()
    delay = FIRST_DELAY
    last = None
    with reporter:
        while True:
            server = fetch()
            last = server if server is not None else last
            elapsed = clock() - start
            state = server_state(server)
            verdict = decide(state, target, elapsed, timeout)
            if verdict != CONTINUE:
                return Outcome(verdict, state, last)
            reporter.update(server, elapsed)
            pause = delay if timeout is None else max(0.0, min(delay, timeout - elapsed))
            sleep(pause)
            delay = next_delay(delay)
