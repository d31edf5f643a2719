"""Faults under the flood (issue 13), scaled down for CI: tools/flood.py's
fault mode on a cloud of its own (durable PostgreSQL, a 3-node RabbitMQ
cluster, every service a real process, a few simulated hosts), with closed-loop
clients creating servers on the flood's network while each fault strikes
once: kill -9 of the conductor, the scheduler, the compute process, one API
worker, the API master, the RabbitMQ node leading the shared queues, and an
immediate restart of PostgreSQL. A supervisor restarts what dies at once.

It asserts what must hold whatever the timings: every server the API
accepted exists and became ACTIVE (or was deleted), none in ERROR, none still
building at the deadline, no 5xx but 503 (which clients retry after
Retry-After), no client error, the accounting exact by SQL (with every port
and address of the deleted servers freed), and, generously, the ACTIVE rate
back to half its pre-fault median within 60 s of each fault. Recovery times
are printed (run with -s), not asserted otherwise.

Its own PostgreSQL (not the session's: it is restarted) and cluster; size:
NOVA_LITE_FLOOD_FAULTS="clients,hosts,interval_s" (default "30,3,18")."""
import os
import re

import pytest

from tests.fixtures.tools import load_flood

CLIENTS, HOSTS, INTERVAL = (float(v) for v in os.environ.get(
    "NOVA_LITE_FLOOD_FAULTS", "30,3,18").split(","))
CLIENTS, HOSTS = int(CLIENTS), int(HOSTS)

pytestmark = pytest.mark.slow


def log_evidence(log_dir, limit=12):
    """Lines of the services' logs that say something went wrong (5xx
    answers, errors, tracebacks' last lines), a few per log."""
    pattern = re.compile(r'" 5\d\d |ERROR|CRITICAL|Error:|Exception:|dead.letter|dlq',
                         re.IGNORECASE)
    found = {}
    for name in sorted(os.listdir(log_dir)):
        with open(os.path.join(log_dir, name), errors="replace") as f:
            lines = [line.rstrip()[:300] for line in f if pattern.search(line)]
        if lines:
            found[name] = lines[:limit] + ([f"... {len(lines) - limit} more"]
                                           if len(lines) > limit else [])
    return found


@pytest.mark.timeout(1200)
def test_every_fault_once_under_the_flood(tmp_path):
    flood = load_flood()
    faults = list(flood.flood_faults.FAULTS)
    with flood.own_cloud(HOSTS, sim_conf=flood.FAULT_SIM_CONF + "spawn_time = 0.1\n",
                         rabbit_nodes=3, compute_queue_type="quorum") as target:
        target.hosts = HOSTS
        report = flood.run_faults(target, faults, CLIENTS, show_progress=False,
                                  json_path=str(tmp_path / "faults.json"),
                                  interval=INTERVAL, settle_timeout=120, sample=1.0)
        evidence = log_evidence(target.cloud.log_dir)
    flood.print_report(report)
    fr = report["faults"]
    fate = fr["fates"]
    for name, lines in evidence.items():
        print(f"--- {name}\n" + "\n".join(lines))
    problems = []

    def check(ok, what):
        if not ok:
            problems.append(what)

    # Every fault struck, once, in turn, and was repaired.
    assert [e["fault"] for e in fr["events"]] == faults
    for ev in fr["events"]:
        check(ev["injection_failed"] is None, f"{ev['fault']}: {ev['injection_failed']}")
    assert fate["accepted"] > 0
    # No accepted request lost; none in ERROR; none stuck past the deadline.
    check(fate["lost"] == 0, f"{fate['lost']} accepted servers lost: {fate['examples']}")
    check(fate["error"] == 0, f"{fate['error']} servers in ERROR: {fate['examples']}")
    check(fate["stuck"] == 0, f"{fate['stuck']} servers still building 120 s after the "
                              f"last fault: {fate['examples']}")
    check(fate["active"] + fate["deleted"] == fate["accepted"], fate)
    # 503 is retried by the clients; any other 5xx is a failure.
    others = {k: v for k, v in fr["http_5xx"].items() if k != "503"}
    check(not others, f"HTTP 5xx other than 503: {others}, by fault: "
                      f"{[(e['fault'], e['http_5xx']) for e in fr['events']]}")
    check(report["errors"] == {}, f"client errors: {report['errors']}")
    # The ACTIVE rate is back (half its pre-fault median) within 60 s of each fault.
    for ev in fr["events"]:
        check(ev["recovery_s"] is not None and ev["recovery_s"] <= 60,
              f"{ev['fault']}: ACTIVE rate not back within 60 s: {ev['active_rate']}")
    # Exact accounting, loaded and after the deletes; every address given back.
    check(report["accounting_when_loaded"] == {k: [] for k in flood.CHECKS},
          f"accounting when loaded: {report['accounting_when_loaded']}")
    check(report["accounting_after"] == {k: [] for k in flood.CHECKS},
          f"accounting after: {report['accounting_after']}")
    net = report["network"]
    check(net["complete"], f"servers without port, address or group: {net}")
    check(net["subnet_used_after_delete"] == net["subnet_used_at_start"], net)
    check(report["delete"]["left"] == 0 and report["delete"]["left_allocations"] == 0,
          report["delete"])
    check(fr["ok"] == (not problems), fr["failures"])
    assert not problems, "\n".join(problems) + "\n\nservice logs:\n" + "\n".join(
        f"--- {name}\n" + "\n".join(lines) for name, lines in evidence.items())
