"""A small thread-safe LRU whose entries lapse: what a worker has looked up
lately (checked tokens, flavors), kept for at most ``ttl`` seconds.

An entry lives until the deadline it was put with, or ``ttl`` seconds after
it was put, whichever is first; the least recently used go first once
``size`` are held. A ttl of 0 (or a size of 0) keeps nothing."""
import collections
import threading
import time


class TTLCache:
    def __init__(self, ttl, size):
        self.ttl = float(ttl)
        self.size = int(size)
        self._entries = collections.OrderedDict()   # key -> (value, deadline)
        self._lock = threading.Lock()

    @property
    def enabled(self):
        return self.ttl > 0 and self.size > 0

    def get(self, key, now=None):
        """The value cached under ``key``, or None (absent or lapsed)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, deadline = entry
        with self._lock:
            if (time.time() if now is None else now) >= deadline:
                self._entries.pop(key, None)
                return None
            if key in self._entries:
                self._entries.move_to_end(key)
        return value

    def put(self, key, value, deadline=None, now=None):
        """Keep ``value`` until min(``deadline``, now + ttl) (seconds since the
        epoch; ``deadline`` None: now + ttl)."""
        if not self.enabled:
            return
        now = time.time() if now is None else now
        until = now + self.ttl if deadline is None else min(deadline, now + self.ttl)
        if until <= now:
            return
        with self._lock:
            self._entries[key] = (value, until)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def pop(self, key):
        with self._lock:
            self._entries.pop(key, None)

    def clear(self):
        with self._lock:
            self._entries.clear()

    def __len__(self):
        return len(self._entries)
