"""Faults under the flood (``tools/flood.py --start-cloud --faults ...``).

N closed-loop clients create servers on the flood's network (waiting while
--max-building of them, default 10 x clients, are accepted and not yet
ACTIVE: the cloud accepts faster than it builds) while, one at a
time and spaced (``interval`` s, the first after ``warmup`` s and once servers
have been reaching ACTIVE for a baseline window), a fault is
injected into the cloud the flood started (three RabbitMQ nodes in a
cluster, durable PostgreSQL):

    conductor      kill -9 nova-lite-conductor
    scheduler      kill -9 the (first) nova-lite-scheduler
    compute        kill -9 nova-lite-compute (every simulated host at once)
    api-worker     kill -9 one gunicorn worker (its master forks another)
    api-master     kill -9 the gunicorn master
    rabbit-leader  kill -9 the RabbitMQ node leading the shared ``conductor``
                   queue (the quorum leader, from rabbitmqctl list_queues),
                   then start it again at once: it rejoins the cluster
    postgres       restart PostgreSQL immediately (pg_ctl restart -m
                   immediate: SIGQUIT to every backend and the postmaster,
                   then start it again: crash recovery)

A Supervisor thread restarts every service process that exits, at once, as
systemd (Restart=always, KillMode=control-group) would: what is left of the
dead service's process group (a killed gunicorn master's workers) is killed
first, and counted. The clients retry a 503 after its Retry-After and a
refused or broken connection with backoff for up to two minutes (a create
only after checking by name that it was not made), as keystoneauth would;
every other 5xx is a failure.

Per fault the report says when it was injected, how long the restart took,
the ACTIVE rate's median over the 30 s before it, whether it dipped below
half of that and how long until it was back (``recovery_s``: from the
fault to the first sample whose ACTIVE rate over the last RATE_WINDOW s is
at least RECOVERED x the median again; 0 when it never dipped), the same
for the accept rate, and the HTTP answers >= 500 and connection failures
by kind while it lasted (until the next fault). At the end: what became of
every server the API accepted (``fates``: lost = accepted but not in the
database, error, stuck = still building at the settle deadline), the
accounting checks, and ``ok`` with the reasons it is not."""
import asyncio
import collections
import concurrent.futures
import contextlib
import os
import signal
import statistics
import threading
import time

import psutil
from sqlalchemy import text

import flood_http
from flood_report import build_report, network_report, with_network

FAULTS = ("conductor", "scheduler", "compute", "api-worker", "api-master", "rabbit-leader",
          "postgres")
RATE_WINDOW = 3.0           # s: the ACTIVE (accept) rate at a sample is over this window
BASELINE_WINDOW = 30.0      # s before a fault whose rates make its pre-fault median
RECOVERED = 0.5             # back to this fraction of the pre-fault median
RECOVERY_BOUND = 60.0       # s: a fault not recovered within this fails the run
SHARED_QUEUE = "conductor"  # the quorum queue whose leader rabbit-leader kills


def parse_faults(value):
    names = list(FAULTS) if value.strip() == "all" else \
        [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in FAULTS]
    if unknown or not names:
        raise ValueError(f"--faults: {unknown or value!r}: choose from {', '.join(FAULTS)} "
                         "or all")
    return names


# -- restarting what dies ------------------------------------------------------------------
class Supervisor:
    """Restarts every service process of ``cloud`` (tests.fixtures.services.Cloud)
    that has exited, within ``every`` s: what is left of its process group
    is SIGKILLed first (systemd's KillMode=control-group), then the service
    is started again. ``events``: (t, service, exit code, leftover pids killed)."""

    def __init__(self, cloud, t0, watch=None, every=0.1):
        self.cloud, self.t0, self.watch, self.every = cloud, t0, watch, every
        self.events = []
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="supervisor")

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=30)

    def restarts_of(self, name, since):
        return [e for e in self.events if e["service"] == name and e["t"] >= since]

    def _run(self):
        while not self._stop.wait(self.every):
            with self.lock:
                for name in self.cloud.service_names:
                    proc = self.cloud.procs.get(name)
                    if proc is not None and proc.poll() is None:
                        continue
                    leftover = []
                    if proc is not None:
                        leftover = session_members(proc.pid)
                        with contextlib.suppress(ProcessLookupError, PermissionError):
                            os.killpg(proc.pid, signal.SIGKILL)
                    self.cloud.start_service(name)
                    new = self.cloud.procs[name].pid
                    if self.watch is not None:
                        self.watch.rebind(name, new)
                    self.events.append({
                        "t": round(time.monotonic() - self.t0, 2), "service": name,
                        "exit_code": proc.returncode if proc is not None else None,
                        "leftover_killed": leftover, "pid": new})


def session_members(sid):
    """Pids still running in session ``sid`` (a dead service's children)."""
    found = []
    for p in psutil.process_iter(["pid"]):
        with contextlib.suppress(ProcessLookupError, PermissionError, psutil.Error):
            if os.getsid(p.pid) == sid:
                found.append(p.pid)
    return found


# -- the faults ----------------------------------------------------------------------------
class Injector:
    """Injects one fault into the cloud of ``target`` (flood_cloud.own_cloud
    with rabbit_nodes=3) and waits until it is repaired: the service running
    again (restarted by the Supervisor or, for the API's worker, by its
    master), the broker node back in the cluster, PostgreSQL accepting
    connections. Returns what it did."""

    def __init__(self, target, supervisor, watch, vhost="flood"):
        self.target, self.cloud = target, target.cloud
        self.supervisor, self.watch, self.vhost = supervisor, watch, vhost

    def __call__(self, name):
        return getattr(self, name.replace("-", "_"))()

    def _kill_service(self, service):
        with self.supervisor.lock:
            pid = self.cloud.procs[service].pid
            os.kill(pid, signal.SIGKILL)
        t = time.monotonic() - self.supervisor.t0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not self.supervisor.restarts_of(service, t - 0.01):
            time.sleep(0.05)
        restarted = self.supervisor.restarts_of(service, t - 0.01)
        return {"killed_pid": pid, "service": service,
                "restarted_pid": restarted[0]["pid"] if restarted else None,
                "leftover_killed": restarted[0]["leftover_killed"] if restarted else None}

    def conductor(self):
        return self._kill_service("conductor")

    def scheduler(self):
        return self._kill_service("scheduler")

    def compute(self):
        return self._kill_service([n for n in self.cloud.service_names
                                   if n.startswith("compute")][0])

    def api_master(self):
        done = self._kill_service("api")
        done["api_answering_s"] = self._wait_api()
        return done

    def api_worker(self):
        master = psutil.Process(self.cloud.procs["api"].pid)
        workers = master.children()
        victim = workers[0].pid
        os.kill(victim, signal.SIGKILL)
        started = time.monotonic()
        deadline = started + 60
        while time.monotonic() < deadline:
            now = {c.pid for c in master.children()}
            if victim not in now and len(now) >= len(workers):
                break
            time.sleep(0.05)
        return {"killed_pid": victim, "workers_before": len(workers),
                "worker_replaced_s": round(time.monotonic() - started, 2)}

    def _wait_api(self, timeout=60):
        import httpx
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.target.url + "/compute/", timeout=2).status_code < 500:
                    return round(time.monotonic() - started, 2)
            time.sleep(0.1)
        return None

    def rabbit_leader(self):
        cluster = self.target.rabbit
        info = {q["name"]: q for q in cluster.queue_info(self.vhost)}
        leader = info[SHARED_QUEUE]["leader"]
        led = sorted(n for n, q in info.items() if q.get("leader") == leader)
        i = cluster.node_index(leader)
        pid = cluster.kill9(i)
        killed = time.monotonic()
        cluster.start_node(i)
        back = time.monotonic()
        if self.watch is not None:
            self.watch.rebind(f"rabbitmq-{i + 1}", cluster.nodes[i].beam_pid())
        after = {q["name"]: q.get("leader") for q in cluster.queue_info(self.vhost)}
        return {"node": leader, "killed_pid": pid, "queues_it_led": led,
                "node_back_in_cluster_s": round(back - killed, 2),
                "conductor_leader_after": after.get(SHARED_QUEUE)}

    def postgres(self):
        pg = self.target.postgres
        old = pg.proc.pid
        down = pg.restart_immediate()
        if self.watch is not None:
            self.watch.rebind("postgres", pg.proc.pid)
        return {"killed_pid": old, "restarted_pid": pg.proc.pid,
                "unreachable_s": round(down, 2), "mode": "immediate"}


# -- the run -------------------------------------------------------------------------------
async def _until_building(rec, limit=300.0):
    """Wait (at most ``limit`` s) until servers have been reaching ACTIVE for
    BASELINE_WINDOW s: a fault before that has no rate to recover to (a cloud
    still starting, its hosts not yet reported, builds nothing)."""
    deadline = time.monotonic() + limit
    first = None
    while time.monotonic() < deadline:
        last = rec.samples[-1] if rec.samples else None
        if first is None and last is not None and last.get("active"):
            first = time.monotonic()
        if first is not None and time.monotonic() - first >= BASELINE_WINDOW:
            return
        await asyncio.sleep(0.5)


async def run_faults(f, inject, faults, interval, warmup, tail, min_gap=5.0):
    """Inject ``faults`` one at a time (in a thread of their own); returns one
    dict per fault with its times relative to the flood's clock."""
    rec = f.rec
    loop = asyncio.get_running_loop()
    out = []
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="fault") as pool:
        await asyncio.sleep(warmup)
        await _until_building(rec)
        next_at = time.monotonic()
        for name in faults:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            f.phase["name"] = f"fault:{name}"
            started = time.monotonic()
            try:
                detail = await loop.run_in_executor(pool, inject, name)
                failed = None
            except Exception as exc:  # noqa: BLE001 - reported, the run goes on
                detail, failed = {}, f"{type(exc).__name__}: {exc}"
            repaired = time.monotonic()
            out.append({"fault": name, "t": round(started - rec.t0, 2),
                        "repaired_t": round(repaired - rec.t0, 2),
                        "repair_s": round(repaired - started, 2),
                        "injection_failed": failed, **detail})
            next_at = max(started + interval, repaired + min_gap)
        await asyncio.sleep(max(0.0, next_at - time.monotonic()) if tail is None else tail)
    return out


def rate_points(samples, key, window=RATE_WINDOW):
    """[(t, rate/s over the last ``window`` s)] of a counter, at each fresh read."""
    points = []
    for s in samples:
        t = s.get("counted_t", s["t"])
        if not points or t > points[-1][0]:
            points.append((t, s[key]))
    out = []
    j = 0
    for i, (t, v) in enumerate(points):
        while j < i and points[j + 1][0] <= t - window:
            j += 1
        if i == j:
            continue
        t0, v0 = points[j]
        out.append((t, max(0.0, (v - v0) / max(t - t0, 1e-6))))
    return out


def recovery(points, fault_t, end_t, since_t):
    """The pre-fault median over [max(since_t, fault_t - BASELINE_WINDOW),
    fault_t), the lowest rate after the fault, and the seconds from the fault
    until the rate is back to RECOVERED x that median after falling below
    it (0 if it never fell; None if not back by ``end_t``)."""
    before = [r for t, r in points if max(since_t, fault_t - BASELINE_WINDOW) <= t < fault_t]
    median = statistics.median(before) if before else None
    after = [(t, r) for t, r in points if fault_t < t <= end_t]
    out = {"pre_fault_median": round(median, 1) if median is not None else None,
           "lowest_after": round(min((r for _, r in after), default=0.0), 1)}
    if not median:
        out.update(dipped=None, recovery_s=None)
        return out
    threshold = RECOVERED * median
    dipped = False
    for t, r in after:
        if r < threshold:
            dipped = True
        elif dipped:
            out.update(dipped=True, recovery_s=round(t - fault_t, 1))
            return out
    out.update(dipped=dipped, recovery_s=None if dipped else 0.0)
    return out


def per_fault(events, rec, end_t):
    """Adds to each fault its ACTIVE and accept recoveries and its answers."""
    active = rate_points(rec.samples, "active")
    accepted = rate_points(rec.samples, "accepted")
    since = rec.samples[0]["t"] + RATE_WINDOW if rec.samples else 0.0
    for n, ev in enumerate(events):
        until = events[n + 1]["t"] if n + 1 < len(events) else end_t
        a = recovery(active, ev["t"], until, since)
        ev["active_rate"] = a
        ev["recovery_s"] = a["recovery_s"]
        ev["accept_rate"] = recovery(accepted, ev["t"], until, since)
        kinds = collections.Counter(
            str(status) for t, _, status in rec.answers if ev["t"] <= t < until
            and (not isinstance(status, int) or status >= 500))
        ev["http_5xx"] = {k: v for k, v in kinds.items() if k.isdigit()}
        ev["connection_failures"] = {k: v for k, v in kinds.items() if not k.isdigit()}
        ev["until_t"] = round(until, 2)
        # The next fault's baseline starts once this one has recovered.
        if a["recovery_s"] is not None:
            since = ev["t"] + a["recovery_s"]
    return events


def fates(f, ids):
    """What became of every server the API accepted (``ids``)."""
    rows = {r[0]: (r[1], r[2]) for r in f._sql(
        "SELECT uuid, vm_state, deleted FROM instances WHERE uuid = ANY(:ids)", ids=list(ids))}
    out = collections.Counter()
    examples = collections.defaultdict(list)
    for i in ids:
        if i not in rows:
            kind = "lost"
        else:
            state, deleted = rows[i]
            kind = "deleted" if deleted else {"active": "active", "error": "error"}.get(
                state, "stuck")
        out[kind] += 1
        if kind != "active" and len(examples[kind]) < 10:
            examples[kind].append(i)
    extra = f._scalar(
        "SELECT count(*) FROM instances WHERE project_id = :p AND created_at >= :since "
        "AND name LIKE :name AND NOT (uuid = ANY(:ids))", name=f.like(), ids=list(ids))
    return {"accepted": len(ids), **{k: out.get(k, 0) for k in
                                     ("active", "deleted", "error", "stuck", "lost")},
            "made_without_a_202": extra, "examples": dict(examples)}


async def flood_faults(target, faults, clients, interval=45.0, warmup=None, tail=None,
                       settle_timeout=300.0, delete=True, sample=1.0, progress=None,
                       request_timeout=60.0, cidr=flood_http.DEFAULT_CIDR, flavor="1",
                       image=None, connections=None, max_building=None, **_ignored):
    """The fault mode's session: returns the flood's report with "faults"."""
    from flood_run import Flood
    flood_http.CONNECT_RETRY_SECONDS = 120.0
    warmup = interval if warmup is None else warmup
    f = Flood(target, connections or min(clients, 1000), flavor, image, sample, progress,
              request_timeout, cidr)
    # The clients create while fewer than this are building: the cloud accepts
    # faster than it builds, and an unbounded backlog would hide recovery (and
    # take longer to settle than any deadline).
    f.max_building = max_building or 10 * clients
    supervisor = None
    try:
        async with f:
            supervisor = Supervisor(target.cloud, f.rec.t0, f.procs).start()
            inject = Injector(target, supervisor, f.procs)
            stop = asyncio.Event()
            creating = asyncio.create_task(f.create(0, clients, until=stop))
            events = await run_faults(f, inject, faults, interval, warmup, tail)
            stop.set()
            created = await creating
            end_t = time.monotonic() - f.rec.t0
            f.phase["name"] = "settle"
            final = await f.settle(created, settle_timeout)
            per_fault(events, f.rec, end_t)
            fate = fates(f, created["ids"])
            builds, last_active = f.builds()
            accounting_loaded = f.accounting()
            network = network_report(f)
            deleted = None
            if delete:
                f.phase["name"] = "delete"
                deleted = await f.delete(created["ids"], clients, settle_timeout)
                if network:
                    network["subnet_used_after_delete"] = f.subnet_used()
        report = with_network(build_report(
            f, created["requests"], clients, None, created, final, builds, last_active,
            accounting_loaded, None, deleted, f.accounting(),
            f.leftover_allocations() if delete else None), network)
    finally:
        if supervisor is not None:
            supervisor.stop()
        f.close()
    answers = collections.Counter(str(s) for _, _, s in f.rec.answers
                                  if isinstance(s, int) and s >= 500)
    report["faults"] = {
        "schedule": {"faults": faults, "interval_s": interval, "warmup_s": warmup,
                     "clients": clients, "max_building": f.max_building, "recovered_at": RECOVERED,
                     "rate_window_s": RATE_WINDOW, "recovery_bound_s": RECOVERY_BOUND,
                     "settle_timeout_s": settle_timeout},
        "events": events, "fates": fate, "http_5xx": dict(answers),
        "supervisor_restarts": supervisor.events if supervisor else [],
    }
    report["faults"]["failures"] = failures(report)
    report["faults"]["ok"] = not report["faults"]["failures"]
    return report


def failures(report):
    """Why the fault run is not clean (empty: it is)."""
    out = []
    fr = report["faults"]
    fate = fr["fates"]
    for kind in ("lost", "error", "stuck"):
        if fate[kind]:
            out.append(f"{fate[kind]} accepted servers {kind}: {fate['examples'].get(kind)}")
    bad = {k: v for k, v in fr["http_5xx"].items() if k != "503"}
    if bad:
        out.append(f"HTTP 5xx other than 503: {bad}")
    if report["errors"]:
        out.append(f"client errors: {report['errors']}")
    for ev in fr["events"]:
        if ev["injection_failed"]:
            out.append(f"{ev['fault']}: injection failed: {ev['injection_failed']}")
        elif ev["recovery_s"] is None or ev["recovery_s"] > RECOVERY_BOUND:
            out.append(f"{ev['fault']}: ACTIVE rate not back to {RECOVERED:.0%} of its "
                       f"pre-fault median within {RECOVERY_BOUND:.0f} s "
                       f"({ev['active_rate']})")
    if not report["exact"]:
        out.append("accounting not exact: " + str(
            {k: v for k, v in {**report["accounting_when_loaded"],
                               **report["accounting_after"]}.items() if v}))
    net = report.get("network")
    if net and not net["complete"]:
        out.append(f"servers without their port, address or group: {net}")
    if "delete" in report and report["delete"]["left"]:
        out.append(f"{report['delete']['left']} servers left after the deletes")
    return out


def print_faults(report, console=None):
    from rich.console import Console
    from rich.table import Table
    console = console or Console(width=160)
    fr = report["faults"]
    table = Table("fault", "at s", "repair s", "ACTIVE/s before (median)", "lowest after",
                  "recovery s", "accept recovery s", "5xx", "connection failures", "what",
                  title="faults under the flood")
    for ev in fr["events"]:
        what = {k: ev[k] for k in ("service", "node", "queues_it_led", "killed_pid",
                                   "unreachable_s", "leftover_killed", "api_answering_s",
                                   "worker_replaced_s", "node_back_in_cluster_s",
                                   "injection_failed") if ev.get(k) not in (None, [])}
        table.add_row(ev["fault"], str(ev["t"]), str(ev["repair_s"]),
                      str(ev["active_rate"]["pre_fault_median"]),
                      str(ev["active_rate"]["lowest_after"]), str(ev["recovery_s"]),
                      str(ev["accept_rate"]["recovery_s"]),
                      str(ev["http_5xx"] or "-"), str(ev["connection_failures"] or "-"),
                      str(what))
    console.print(table)
    fate = fr["fates"]
    console.print(f"accepted {fate['accepted']}: ACTIVE {fate['active']}, deleted "
                  f"{fate['deleted']}, ERROR {fate['error']}, stuck {fate['stuck']}, lost "
                  f"{fate['lost']}; made without a 202: {fate['made_without_a_202']}; HTTP "
                  f"5xx: {fr['http_5xx'] or 'none'}; restarts by the supervisor: "
                  f"{len(fr['supervisor_restarts'])}")
    console.print("fault run clean: yes" if fr["ok"] else
                  "fault run clean: NO\n  - " + "\n  - ".join(fr["failures"]))
