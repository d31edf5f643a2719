"""Coalescing casts: many threads' reports of one kind become one message.

    handler threads ──add(item)──> pending items ──every interval (or max_items)──┐
          ^                                                                        v
          └── share future: settled when the broker confirms ──── one cast: make(items)

A process that speaks for many hosts (the sim fleet) reports thousands of
finished builds a second; one message per report costs the broker and the
conductor a message each. Here they leave as one message per ``interval``
(default 20 ms) holding up to ``max_items`` reports, and each caller's share
is settled with the confirm of the message that carried it, so an RPC
handler that adds an item still acks its own input only after its report is
safe with the broker (publisher.track). At-least-once is kept: a failed
publish fails every share, and each handler's input is retried.

A coalesced message has no per-item context (request ids); it carries none.
"""
import concurrent.futures
import logging
import threading

from nova_lite.rpc import envelope as envelope_mod
from nova_lite.rpc import publisher as publisher_mod

LOG = logging.getLogger(__name__)


class Coalescer:
    def __init__(self, make, interval=0.02, max_items=500, name="coalescer"):
        """``make(items)`` -> casts.Message carrying them all."""
        self.make, self.interval, self.max_items = make, interval, max_items
        self._items, self._shares = [], []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.sent = self.items_sent = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def add(self, item):
        """Queue ``item``; its confirm is tracked like a cast of this thread's."""
        share = concurrent.futures.Future()
        with self._lock:
            self._items.append(item)
            self._shares.append(share)
            full = len(self._items) >= self.max_items
        if full:
            self._wake.set()
        publisher_mod.track(share)

    def stop(self):
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)
        self.flush()

    def flush(self):
        while True:
            with self._lock:
                items, shares = (self._items[:self.max_items],
                                 self._shares[:self.max_items])
                del self._items[:self.max_items], self._shares[:self.max_items]
            if not items:
                return
            self._send(items, shares)

    def _send(self, items, shares):
        try:
            message = self.make(items)
            request = publisher_mod.get_publisher().submit_envelope(
                message.topic, envelope_mod.build(message.method, message.args, None))
        except Exception as exc:  # noqa: BLE001 - every share fails; handlers retry
            LOG.warning("could not send %d coalesced reports: %s", len(items), exc)
            for share in shares:
                share.set_exception(exc)
            return
        self.sent += 1
        self.items_sent += len(items)

        def settle(done):
            error = done.exception()
            for share in shares:
                if error is None:
                    share.set_result(True)
                else:
                    share.set_exception(error)
        request.add_done_callback(settle)

    def _run(self):
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - the loop must outlive any error
                LOG.exception("coalescer %s failed to flush", self._thread.name)
