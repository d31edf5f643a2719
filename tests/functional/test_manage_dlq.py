"""nova-lite-manage dlq list|show|replay|purge against a real RabbitMQ: an
operator sees why a message was parked, replays it once the fault is fixed,
or purges it."""
import json
import os
import subprocess
import sys
import threading
import uuid

import pytest

from nova_lite.rpc import publisher, server
from tests.fixtures.waiting import until


@pytest.fixture
def manage(configured, tmp_path):
    config = tmp_path / "nova-lite.conf"
    config.write_text(f"[database]\nconnection = {configured.database.connection}\n"
                      f"[rpc]\ntransport_url = {configured.rpc.transport_url}\n")
    exe = os.path.join(os.path.dirname(sys.executable), "nova-lite-manage")

    def run(*args, check=True):
        result = subprocess.run([exe, "--config-file", str(config), *args],
                                capture_output=True, text=True, timeout=60)
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result
    return run


def test_show_replay_and_purge_dead_letters(manage):
    topic = f"ops{uuid.uuid4().hex[:8]}"
    state = {"broken": True, "handled": []}

    def flaky(context, value):
        if state["broken"]:
            raise RuntimeError("disk full on the host")
        state["handled"].append(value)

    srv = server.RPCServer(topic, {"flaky": flaky}, concurrency=2)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        publisher.cast(topic, "flaky", {"value": 42})
        assert until(lambda: srv.dead_lettered == 1)

        shown = json.loads(manage("dlq", "show", topic + ".dlq", "--json").stdout)
        assert len(shown) == 1
        assert shown[0]["method"] == "flaky"
        assert "disk full on the host" in shown[0]["reason"]
        # show leaves the message in place
        assert len(json.loads(manage("dlq", "show", topic, "--json").stdout)) == 1

        state["broken"] = False
        assert "replayed 1" in manage("dlq", "replay", topic).stdout
        assert until(lambda: state["handled"] == [42])
        assert json.loads(manage("dlq", "show", topic, "--json").stdout) == []

        state["broken"] = True
        publisher.cast(topic, "flaky", {"value": 7})
        assert until(lambda: srv.dead_lettered == 2)
        refused = manage("dlq", "purge", topic, check=False)
        assert refused.returncode == 1 and "--yes" in refused.stdout
        assert "purged 1" in manage("dlq", "purge", topic, "--yes").stdout
        assert state["handled"] == [42]
    finally:
        srv.stop()
        thread.join(10)


def test_list_names_every_shared_dead_letter_queue(manage):
    out = manage("dlq", "list").stdout
    assert "conductor.dlq" in out and "scheduler.dlq" in out
