"""Waiting for a server (or an image) to settle (``--wait``): poll it every
second, backing off to every five, show its status, task state and progress
live, and decide when to stop: the target state reached, ERROR, the task over
without reaching the target, or the timeout."""
import time
import typing

from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

# What a poll finds.
ACTIVE = "ACTIVE"
ERROR = "ERROR"
GONE = "GONE"          # GET returned 404: deleted
PENDING = "PENDING"
UNCHANGED = "UNCHANGED"  # the task ended without reaching the target

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


def action_state(server, target):
    """The state of a server an action was started on: PENDING while a task
    runs, then ``target``, ERROR, GONE or UNCHANGED (the action failed)."""
    if server is None:
        return GONE
    if server.get("OS-EXT-STS:task_state"):
        return PENDING
    status = (server.get("status") or "").upper()
    if status == target:
        return target
    return ERROR if status == ERROR else UNCHANGED


IMAGE_ACTIVE = "active"
IMAGE_FAILED = ("killed", "deleted", "pending_delete", "deactivated")


def image_state(image):
    """``active``, ERROR (killed, deleted, ...), GONE (404) or PENDING."""
    if image is None:
        return GONE
    status = (image.get("status") or "").lower()
    if status == IMAGE_ACTIVE:
        return IMAGE_ACTIVE
    return ERROR if status in IMAGE_FAILED else PENDING


class Outcome(typing.NamedTuple):
    """How a wait ended: the verdict, the last state seen and the last server
    seen (as it was before it disappeared, if it did)."""
    verdict: str
    state: str
    server: dict


def decide(state, target, elapsed, timeout):
    """Stop when the target is reached (even at the deadline), fail on ERROR,
    on UNCHANGED (or on the server vanishing while waiting for something else),
    time out once ``elapsed`` reaches ``timeout`` (``None``: never)."""
    if state == target:
        return DONE
    if state in (ERROR, GONE, UNCHANGED):
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


def label(thing, kind="server"):
    return f"{kind} {thing.get('name')} ({thing.get('id')})"


def fault_message(server):
    fault = (server or {}).get("fault") or {}
    return fault.get("message") or "the server recorded no fault message"


def failure_message(outcome, target, timeout, kind="server"):
    """The error to report for a wait that did not end in DONE, else ``None``."""
    thing = outcome.server or {}
    name = label(thing, kind)
    if outcome.verdict == FAILED and outcome.state == GONE:
        return f"{name} was deleted before it became {target}"
    if outcome.verdict == FAILED and outcome.state == UNCHANGED:
        return f"{name} did not become {target}: it is {describe(thing)}"
    if outcome.verdict == FAILED and (thing.get("status") or "").upper() == ERROR:
        return f"{name} is in ERROR: {fault_message(thing)}"
    if outcome.verdict == FAILED:
        return f"{name} is {thing.get('status')}"
    if outcome.verdict == TIMED_OUT:
        goal = "be deleted" if target == GONE else f"become {target}"
        return (f"Timed out after {timeout:g} s waiting for {name} to "
                f"{goal}; it is still {describe(thing)}")
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


def poll(fetch, target, timeout, reporter, state_of=server_state, clock=time.monotonic,
         sleep=time.sleep):
    """Call ``fetch()`` (a server dict, or ``None`` once deleted) until
    ``decide`` says stop, given the ``state_of`` each result; return the
    ``Outcome``."""
    start = clock()
    delay = FIRST_DELAY
    last = None
    with reporter:
        while True:
            server = fetch()
            last = server if server is not None else last
            elapsed = clock() - start
            state = state_of(server)
            verdict = decide(state, target, elapsed, timeout)
            if verdict != CONTINUE:
                return Outcome(verdict, state, last)
            reporter.update(server, elapsed)
            pause = delay if timeout is None else max(0.0, min(delay, timeout - elapsed))
            sleep(pause)
            delay = next_delay(delay)
