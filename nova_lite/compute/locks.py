"""One lock per instance uuid, so handlers for one instance run one at a time
while different instances run in parallel; a lock is dropped when nobody holds
or waits for it."""
import collections
import contextlib
import threading


class InstanceLocks:
    def __init__(self):
        self._guard = threading.Lock()
        self._locks = {}
        self._users = collections.Counter()

    @contextlib.contextmanager
    def __call__(self, instance_uuid):
        with self._guard:
            lock = self._locks.setdefault(instance_uuid, threading.Lock())
            self._users[instance_uuid] += 1
        try:
            with lock:
                yield
        finally:
            with self._guard:
                self._users[instance_uuid] -= 1
                if not self._users[instance_uuid]:
                    del self._users[instance_uuid]
                    del self._locks[instance_uuid]
