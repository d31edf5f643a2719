"""A killed API master takes its workers with it, and a new one serves at once.

The real ``nova-lite-api`` (gunicorn) on a database and vhost of its own. Its
master is killed with SIGKILL while a request is in flight (a client sending
an upload slowly): before, the orphaned workers went on serving that request
and held the listening port for up to graceful_timeout (30 s), so a new
master failed with "Address already in use"."""
import os
import signal
import socket

import httpx
import pytest

from tests.fixtures import ports, processes
from tests.fixtures.services import Cloud
from tests.fixtures.waiting import wait_for


@pytest.fixture
def api(configured, postgres, rabbit, state_dir):
    """Only the API service of a cloud (one database and vhost of its own)."""
    cloud = Cloud(postgres, rabbit, state_dir, configured.identity.fernet_key_file,
                  name="api-restart", db_name="api_restart", vhost="api_restart")
    cloud.write_config()
    cloud.prepare()
    cloud.start_service("api")
    ports.wait_for_port("127.0.0.1", cloud.port, 60, cloud.procs["api"])
    yield cloud
    cloud.stop()


def children(pid):
    """PIDs of the live processes whose parent is ``pid``."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()      # after "(comm)": state, ppid, ...
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry))
    return found


def alive(pids):
    living = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                    living.add(pid)
        except OSError:
            pass
    return living


def serves(url):
    try:
        return httpx.get(url + "/identity/v3", timeout=5).status_code
    except httpx.HTTPError as exc:
        return repr(exc)


def slow_upload(port):
    """A request that stays in flight: headers sent, the body never finishes."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"PUT /image/v2/images/x/file HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Type: application/octet-stream\r\n"
                 b"Content-Length: 1000000\r\n\r\n" + b"\0" * 1000)
    return sock


def test_killed_master_takes_its_workers_and_a_new_one_serves_at_once(api):
    master = api.procs["api"]
    wait_for(lambda: serves(api.url), lambda code: code == 200, timeout=60)
    workers = wait_for(lambda: children(master.pid),
                       lambda pids: len(pids) == api.api_workers, timeout=30)
    uploads = [slow_upload(api.port) for _ in range(2 * api.api_workers)]
    try:
        os.kill(master.pid, signal.SIGKILL)
        master.wait(timeout=10)
        # Dying with the master is immediate (the kernel signals them); 5 s
        # leaves room for a loaded machine, far below graceful_timeout (30 s).
        wait_for(lambda: alive(workers), lambda pids: not pids, timeout=5)

        # A new API binds at once and serves once its workers have booted
        # (about 2 s; 15 s for a loaded machine): with old workers holding
        # the port it exited with "Address already in use" instead.
        api.start_service("api")
        wait_for(lambda: serves(api.url), lambda code: code == 200, timeout=15)
        assert api.procs["api"].poll() is None, api.log_tail("api")
    finally:
        for sock in uploads:
            sock.close()
        # Whatever the old master left (without the fix, its workers).
        processes.stop(_Group(master.pid), sig=signal.SIGKILL)


class _Group:
    """The killed master's process group, for ``processes.stop`` (by its PID)."""

    def __init__(self, pid):
        self.pid = pid

    def poll(self):
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            return 0
        return None

    def wait(self, timeout=None):
        return wait_for(self.poll, lambda rc: rc is not None, timeout=timeout or 5)
