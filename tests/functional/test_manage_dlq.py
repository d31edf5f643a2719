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


def test_the_conductors_sweep_redrives_network_changed_and_drops_parked_reports(configured):
    """What must not wait for an operator (casts.ON_DEAD_LETTER): a parked
    network_changed goes back to its queue and is handled; a report parked
    (by an older version) is dropped; anything else stays parked."""
    from nova_lite.rpc import dead_letters, envelope, topology
    topic = f"sweep{uuid.uuid4().hex[:8]}"
    state = {"broken": True, "handled": []}

    def network_changed(context, instance_uuids=(), security_group_ids=()):
        if state["broken"]:
            raise RuntimeError("conductor bug")
        state["handled"].append(list(instance_uuids))

    srv = server.RPCServer(topic, {"network_changed": network_changed}, concurrency=2)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        publisher.cast(topic, "network_changed", {"instance_uuids": ["i-1"],
                                                  "security_group_ids": []})
        assert until(lambda: srv.dead_lettered == 1)
        parked = publisher.get_publisher()
        for method in ("compute_node_update", "instance_spawned"):
            parked.publish_raw(topic, envelope.encode(envelope.build(method, {})),
                               exchange=topology.dead_letter_exchange(), declare=False)
        state["broken"] = False
        assert dead_letters.sweep([topic]) == {"redriven": 1, "dropped": 1}
        assert until(lambda: state["handled"] == [["i-1"]])
        assert [m["method"] for m in dead_letters.show(topic)] == ["instance_spawned"]
    finally:
        srv.stop()
        thread.join(10)
