#!/usr/bin/env python3
"""Flood a nova-lite cloud with server creates and deletes, and check it kept count.

    tools/flood.py --start-cloud --hosts 200 --clients 200 --servers 2000
    tools/flood.py --url http://127.0.0.1:8774 --db postgresql+psycopg2://... \\
                   --amqp amqp://guest:guest@127.0.0.1:5672/ --pid-dir /run/nova-lite \\
                   --clients 1000 --servers 100000

N asyncio clients (httpx) create M servers (closed loop: each client sends its
next request when the last is answered; or open loop with --rate), then wait
for every server to be ACTIVE or ERROR, then delete them all. While it runs a
progress bar shows accepted / ACTIVE / deleted; a monitor samples, every
--sample seconds, the servers' states (SQL), the queue depths (RabbitMQ) and
the CPU and RSS of every service process (psutil, by pid).

At the end it prints and writes (--json) the API accept rate, end-to-end
ACTIVE/s, create latency p50/p95/p99, build time (created -> launched)
p50/p95/p99, counts of ACTIVE / ERROR / still building, the delete rate, the
queue depths over time, CPU seconds and peak RSS per process, and draws
(--plot) rates, latencies and queue depths over time. It verifies by SQL that
accounting is exact: each compute node's usage equals the sum of its
allocations and of its live instances' flavors, no instance holds two
allocations, no allocation outlives its instance, and no IP address is
allocated twice.

--start-cloud starts PostgreSQL, RabbitMQ and every service (one
nova-lite-compute running --hosts simulated hosts) from the test fixtures,
in temporary directories, and stops them at the end."""
import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import httpx  # noqa: E402
import psutil  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

ADMIN_PASSWORD = "admin-secret"     # what --start-cloud bootstraps (tests/conftest.py)
DEMO_PASSWORD = "demo-secret"


@dataclasses.dataclass
class Target:
    """A running cloud: its API, database, broker and service processes."""
    url: str
    db_url: str
    amqp_url: str
    pids: dict = dataclasses.field(default_factory=dict)     # name -> pid
    hosts: int | None = None
    user: str = "demo"
    password: str = DEMO_PASSWORD
    project: str = "demo"
    admin_password: str = ADMIN_PASSWORD


def percentile(values, pct):
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100.0
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _ms(value):
    return None if value is None else round(value * 1000, 1)


# -- HTTP ---------------------------------------------------------------------------------
def login(url, user, password, project):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
    response = httpx.post(url + "/identity/v3/auth/tokens", json=body, timeout=30)
    response.raise_for_status()
    return response.headers["X-Subject-Token"], response.json()["token"]["project"]["id"]


def ensure_image(url, admin_token):
    """A small public image to boot from (found by name, else uploaded)."""
    headers = {"X-Auth-Token": admin_token}
    with httpx.Client(base_url=url + "/image/v2", headers=headers, timeout=60) as http:
        found = http.get("/images", params={"name": "flood-tiny"}).json().get("images", [])
        active = [i for i in found if i["status"] == "active"]
        if active:
            return active[0]["id"]
        image = http.post("/images", json={"name": "flood-tiny", "disk_format": "qcow2",
                                           "container_format": "bare",
                                           "visibility": "public"})
        image.raise_for_status()
        image_id = image.json()["id"]
        http.put(f"/images/{image_id}/file", content=b"\0" * 65536,
                 headers={"Content-Type": "application/octet-stream"}).raise_for_status()
        return image_id


# -- sampling -----------------------------------------------------------------------------
class ProcessWatch:
    """CPU seconds and peak RSS of named process trees (a pid and its children)."""

    def __init__(self, pids, flat=()):
        self.flat = set(flat)          # names counted without their children
        self.procs = {}
        for name, pid in pids.items():
            try:
                self.procs[name] = psutil.Process(pid)
            except psutil.NoSuchProcess:
                continue
        self.names = {p.pid: n for n, p in self.procs.items()}
        self.start_cpu = {n: self._cpu(p) for n, p in self.procs.items()}
        self.peak_rss = dict.fromkeys(self.procs, 0)
        self.last_cpu = dict(self.start_cpu)
        self.last_time = time.monotonic()

    def _tree(self, proc):
        if self.names.get(proc.pid) in self.flat:
            return [proc]
        try:
            return [proc, *proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def _cpu(self, proc):
        """CPU of the tree, including children that have exited (a process's
        children_* times hold those it reaped: PostgreSQL backends, ...)."""
        if self.names.get(proc.pid) in self.flat:
            t = proc.cpu_times()
            return t.user + t.system
        total = 0.0
        for p in self._tree(proc):
            try:
                t = p.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
            except psutil.NoSuchProcess:
                pass
        return total

    def _rss(self, proc):
        total = 0
        for p in self._tree(proc):
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def sample(self):
        """{name: (cores used since the last sample, rss MiB)}."""
        now = time.monotonic()
        elapsed = max(now - self.last_time, 1e-6)
        out = {}
        for name, proc in self.procs.items():
            cpu, rss = self._cpu(proc), self._rss(proc)
            self.peak_rss[name] = max(self.peak_rss[name], rss)
            out[name] = (round((cpu - self.last_cpu[name]) / elapsed, 2), rss >> 20)
            self.last_cpu[name] = cpu
        self.last_time = now
        return out

    def summary(self, seconds):
        return {name: {"cpu_seconds": round(self._cpu(proc) - self.start_cpu[name], 1),
                       "avg_cores": round((self._cpu(proc) - self.start_cpu[name])
                                          / max(seconds, 1e-6), 2),
                       "peak_rss_mb": self.peak_rss[name] >> 20}
                for name, proc in self.procs.items()}


class QueueWatch:
    """Messages waiting in the shared queues (each sample) and, summed, in
    every compute.<host>: ten thousand passive declares take a second of CPU,
    so a child process of its own walks them every ``compute_every`` s (in this
    process it would hold the GIL from the clients' event loop)."""

    def __init__(self, amqp_url, db_url, compute_every=10.0):
        import subprocess
        import threading
        self.amqp_url = amqp_url
        self.conn = self._connect(amqp_url)
        self.compute_total = 0
        self.sampler = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--queue-sampler", amqp_url, db_url,
             str(compute_every)], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
            text=True)
        self._thread = threading.Thread(target=self._read, daemon=True,
                                        name="flood-compute-queues")
        self._thread.start()

    @staticmethod
    def _connect(amqp_url):
        from kombu import Connection
        return Connection(amqp_url, connect_timeout=5)

    @staticmethod
    def depth(conn, name):
        """Messages in ``name``; 0 if it does not exist (the error closes the
        channel: the next call gets a new one)."""
        try:
            return conn.default_channel.queue_declare(name, passive=True).message_count
        except Exception:  # noqa: BLE001 - not declared yet
            with contextlib.suppress(Exception):
                conn.default_channel.close()
            conn._default_channel = None
            return 0

    def sample(self):
        out = {name: self.depth(self.conn, name) for name in ("conductor", "scheduler")}
        out["compute"] = self.compute_total
        return out

    def _read(self):
        for line in self.sampler.stdout:
            with contextlib.suppress(ValueError):
                self.compute_total = int(line)

    def close(self):
        self.sampler.terminate()
        with contextlib.suppress(Exception):
            self.sampler.wait(timeout=10)
        with contextlib.suppress(Exception):
            self.conn.release()


def queue_sampler(amqp_url, db_url, every):
    """Child process: print the sum of every compute.<host> queue's depth."""
    engine = create_engine(db_url, pool_size=1)
    conn = QueueWatch._connect(amqp_url)
    parent = os.getppid()
    while os.getppid() == parent:          # ends with the flood that started it
        started = time.monotonic()
        with contextlib.suppress(Exception):
            with engine.connect() as db:
                hosts = [r[0] for r in db.execute(text("SELECT host FROM compute_nodes"))]
            print(sum(QueueWatch.depth(conn, f"compute.{h}") for h in hosts), flush=True)
        time.sleep(max(1.0, every - (time.monotonic() - started)))


def server_counts(engine, project_id, since, accepted=None, run=""):
    """Live servers of this run by vm_state (the partial index on live
    instances by project and creation time serves it); ``deleted`` is what
    was accepted and is no longer live."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT vm_state, count(*) FROM instances WHERE project_id = :p "
            "AND NOT deleted AND created_at >= :since AND name LIKE :name GROUP BY 1"),
            {"p": project_id, "since": since, "name": f"flood-{run}%"}).all()
    counts = {"active": 0, "error": 0, "building": 0, "deleted": 0, "other": 0}
    for vm_state, n in rows:
        counts[vm_state if vm_state in ("active", "error", "building") else "other"] += n
    if accepted is not None:
        counts["deleted"] = max(0, accepted - sum(counts.values()))
    return counts


# -- accounting ---------------------------------------------------------------------------
CHECKS = {
    "node_usage_differs_from_allocations": """
        SELECT n.host FROM compute_nodes n LEFT JOIN (
            SELECT node_id, sum(vcpus) v, sum(memory_mb) m, sum(disk_gb) d, count(*) c
            FROM allocations GROUP BY node_id) a ON a.node_id = n.id
        WHERE n.vcpus_used <> coalesce(a.v, 0) OR n.memory_mb_used <> coalesce(a.m, 0)
           OR n.local_gb_used <> coalesce(a.d, 0) OR n.running_vms <> coalesce(a.c, 0)""",
    "node_usage_differs_from_instance_flavors": """
        SELECT n.host FROM compute_nodes n LEFT JOIN (
            SELECT host, sum(vcpus) v, sum(memory_mb) m, sum(root_gb + ephemeral_gb) d,
                   count(*) c
            FROM instances WHERE NOT deleted AND host IS NOT NULL GROUP BY host) i
            ON i.host = n.host
        WHERE n.vcpus_used <> coalesce(i.v, 0) OR n.memory_mb_used <> coalesce(i.m, 0)
           OR n.local_gb_used <> coalesce(i.d, 0) OR n.running_vms <> coalesce(i.c, 0)""",
    "node_over_capacity": """
        SELECT host FROM compute_nodes
        WHERE vcpus_used > vcpus * cpu_allocation_ratio
           OR memory_mb_used > memory_mb * ram_allocation_ratio - reserved_host_memory_mb""",
    "instance_with_two_allocations": """
        SELECT instance_uuid FROM allocations GROUP BY 1 HAVING count(*) > 1""",
    "allocation_without_live_placed_instance": """
        SELECT a.instance_uuid FROM allocations a LEFT JOIN instances i
            ON i.uuid = a.instance_uuid
        WHERE i.uuid IS NULL OR i.deleted OR i.host IS NULL""",
    "allocation_differs_from_flavor": """
        SELECT a.instance_uuid FROM allocations a JOIN instances i ON i.uuid = a.instance_uuid
        WHERE a.vcpus <> i.vcpus OR a.memory_mb <> i.memory_mb
           OR a.disk_gb <> i.root_gb + i.ephemeral_gb""",
    "ip_address_used_twice": """
        SELECT subnet_id, address FROM ip_allocations GROUP BY 1, 2 HAVING count(*) > 1""",
}


def verify(engine):
    """{check: offending rows (up to 20)}; every list empty means exact."""
    found = {}
    with engine.connect() as conn:
        tables = {r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))}
        for name, query in CHECKS.items():
            if name == "ip_address_used_twice" and "ip_allocations" not in tables:
                found[name] = []
                continue
            rows = conn.execute(text(query + " LIMIT 20")).all()
            found[name] = [list(map(str, r)) for r in rows]
    return found


# -- the flood ------------------------------------------------------------------------------
class Recorder:
    def __init__(self):
        self.t0 = time.monotonic()
        self.creates = []        # (t_sent, latency, status)
        self.deletes = []
        self.ids = []
        self.errors = {}
        self.retries = {}
        self.samples = []
        self.load_at_start = [round(x, 1) for x in os.getloadavg()]
        self.run = ""

    def error(self, what, count_only=False):
        """Count a failure; ``count_only`` ones (retried connection resets)
        are reported as retries, not errors."""
        table = self.retries if count_only else self.errors
        table[what] = table.get(what, 0) + 1


# A keep-alive connection the server closed just as a request went out fails
# with one of these before the server read the request; clients retry them.
# (A create is retried only after checking that its server does not exist.)
CONNECTION_ERRORS = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError,
                     httpx.ConnectError)
RETRIES = 3


async def _create(http, rec, body_for, n, exists):
    sent = time.monotonic()
    body = body_for(n)
    for attempt in range(RETRIES + 1):
        try:
            response = await http.post("/compute/v2.1/servers", json=body)
            status = response.status_code
            if status == 202:
                rec.ids.append(response.json()["server"]["id"])
            else:
                rec.error(f"create HTTP {status}")
            break
        except httpx.TimeoutException:
            status = "timeout"
            rec.error("create timeout")
            break
        except CONNECTION_ERRORS as exc:
            status = type(exc).__name__
            found = await asyncio.get_running_loop().run_in_executor(
                None, exists, body["server"]["name"])
            if found:
                rec.ids.append(found)
                rec.error(f"create {status}, but it was created", count_only=True)
                status = 202
                break
            if attempt == RETRIES:
                rec.error(f"create {status}")
                break
            rec.error(f"create {status} (retried)", count_only=True)
        except httpx.HTTPError as exc:
            status = type(exc).__name__
            rec.error(f"create {status}")
            break
    rec.creates.append((sent - rec.t0, time.monotonic() - sent, status))


async def _delete(http, rec, server_id):
    sent = time.monotonic()
    for attempt in range(RETRIES + 1):
        try:
            response = await http.delete(f"/compute/v2.1/servers/{server_id}")
            status = response.status_code
            if status not in (204, 404):
                rec.error(f"delete HTTP {status}")
            break
        except CONNECTION_ERRORS as exc:      # a delete is idempotent: send it again
            status = type(exc).__name__
            if attempt == RETRIES:
                rec.error(f"delete {status}")
                break
            rec.error(f"delete {status} (retried)", count_only=True)
        except httpx.HTTPError as exc:
            status = type(exc).__name__
            rec.error(f"delete {status}")
            break
    rec.deletes.append((sent - rec.t0, time.monotonic() - sent, status))


async def _list_latency(http, samples):
    """GET /servers/detail?limit=1000, one at a time, with every server in place."""
    latencies, sizes, failures = [], [], 0
    for _ in range(samples):
        sent = time.monotonic()
        try:
            response = await http.get("/compute/v2.1/servers/detail",
                                      params={"limit": 1000})
            if response.status_code == 200:
                latencies.append(time.monotonic() - sent)
                sizes.append(len(response.json()["servers"]))
            else:
                failures += 1
        except httpx.HTTPError:
            failures += 1
    return {"requests": samples, "failures": failures, "servers_per_page": max(sizes or [0]),
            "latency_ms": {"p50": _ms(percentile(latencies, 50)),
                           "p99": _ms(percentile(latencies, 99)),
                           "max": _ms(max(latencies) if latencies else None)}}


async def _closed_loop(count, clients, job):
    counter = iter(range(count))

    async def client():
        for n in counter:
            await job(n)

    await asyncio.gather(*(client() for _ in range(min(clients, count))))


async def _open_loop(count, clients, rate, job):
    """Start one request every 1/rate s (at most ``clients`` in flight)."""
    limit = asyncio.Semaphore(clients)
    started = time.monotonic()
    tasks = []

    async def one(n):
        async with limit:
            await job(n)

    for n in range(count):
        delay = started + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)


async def _monitor(rec, engine, project_id, since, queues, procs, stop, progress,
                   interval, phase):
    while not stop.is_set():
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        counts = await loop.run_in_executor(None, server_counts, engine, project_id, since,
                                            len(rec.ids), rec.run)
        depths = await loop.run_in_executor(None, queues.sample) if queues else {}
        cpu = procs.sample()
        rec.samples.append({"t": round(started - rec.t0, 2), "phase": phase["name"],
                            "accepted": len(rec.ids), "creates_sent": len(rec.creates),
                            "deletes_sent": len(rec.deletes), **counts,
                            "queues": depths, "cpu": {k: v[0] for k, v in cpu.items()},
                            "rss_mb": {k: v[1] for k, v in cpu.items()}})
        if progress:
            progress(rec, counts, depths)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.05, interval - (
                time.monotonic() - started)))


def _rate_peak(samples, key, window=5.0):
    """Highest rate of growth of ``key`` over any ``window`` seconds (or more,
    when samples are further apart)."""
    best = 0.0
    j = 0
    for s in samples:
        while j + 1 < len(samples) and samples[j + 1]["t"] <= s["t"] - window:
            j += 1
        dt = s["t"] - samples[j]["t"]
        if dt >= window:
            best = max(best, (s[key] - samples[j][key]) / dt)
    return round(best, 1)


async def flood(target, servers, clients, connections=None, flavor="1", image=None,
                rate=None, delete=True, timeout=600.0, sample=1.0, progress=None,
                request_timeout=60.0, list_samples=20):
    token, project_id = login(target.url, target.user, target.password, target.project)
    admin_token, _ = login(target.url, "admin", target.admin_password, "admin")
    image = image or ensure_image(target.url, admin_token)
    engine = create_engine(target.db_url, pool_size=4)
    with engine.connect() as conn:
        since = conn.execute(text("SELECT now()")).scalar()
    queues = QueueWatch(target.amqp_url, target.db_url) if target.amqp_url else None
    procs = ProcessWatch({**target.pids, "flood (this client)": os.getpid()},
                         flat=("flood (this client)",))
    rec = Recorder()
    run = rec.run = uuid.uuid4().hex[:6]
    connections = connections or min(clients, 1000)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    headers = {"X-Auth-Token": token}
    phase = {"name": "create"}
    stop = asyncio.Event()
    monitor = asyncio.create_task(_monitor(rec, engine, project_id, since, queues, procs,
                                           stop, progress, sample, phase))
    times = {}
    try:
        async with httpx.AsyncClient(base_url=target.url, headers=headers, limits=limits,
                                     timeout=request_timeout) as http:
            def body(n):
                return {"server": {"name": f"flood-{run}-{n}", "imageRef": image,
                                   "flavorRef": flavor}}

            def exists(name):
                with engine.connect() as conn:
                    return conn.execute(text(
                        "SELECT uuid FROM instances WHERE project_id = :p AND NOT deleted "
                        "AND created_at >= :since AND name = :name"),
                        {"p": project_id, "since": since, "name": name}).scalar()

            async def job(n):
                await _create(http, rec, body, n, exists)

            times["create_start"] = time.monotonic()
            if rate:
                await _open_loop(servers, clients, rate, job)
            else:
                await _closed_loop(servers, clients, job)
            times["create_end"] = time.monotonic()
            phase["name"] = "settle"
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                counts = server_counts(engine, project_id, since, run=run)
                if counts["building"] == 0 and counts["other"] == 0:
                    break
                await asyncio.sleep(sample)
            times["settled"] = time.monotonic()
            final = server_counts(engine, project_id, since, run=run)
            with engine.connect() as conn:
                builds = [float(r[0]) for r in conn.execute(text(
                    "SELECT extract(epoch FROM launched_at - created_at) FROM instances "
                    "WHERE project_id = :p AND created_at >= :since AND name LIKE :name "
                    "AND launched_at IS NOT NULL"),
                    {"p": project_id, "since": since, "name": f"flood-{run}-%"})]
                last_active = float(conn.execute(text(
                    "SELECT extract(epoch FROM max(launched_at) - min(created_at)) FROM "
                    "instances WHERE project_id = :p AND created_at >= :since AND name LIKE "
                    ":name AND launched_at IS NOT NULL"),
                    {"p": project_id, "since": since, "name": f"flood-{run}-%"}).scalar() or 0)
            accounting_loaded = verify(engine)
            listing = await _list_latency(http, list_samples)
            if delete:
                phase["name"] = "delete"
                # What was accepted, and what exists though its answer was lost
                # (a client timeout after the API committed).
                with engine.connect() as conn:
                    found = [r[0] for r in conn.execute(text(
                        "SELECT uuid FROM instances WHERE project_id = :p AND NOT deleted "
                        "AND created_at >= :since AND name LIKE :name"),
                        {"p": project_id, "since": since, "name": f"flood-{run}-%"})]
                known = set(rec.ids)
                ids = list(rec.ids) + [u for u in found if u not in known]
                times["delete_start"] = time.monotonic()

                async def job_delete(n):
                    await _delete(http, rec, ids[n])

                await _closed_loop(len(ids), clients, job_delete)
                times["delete_sent"] = time.monotonic()
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    counts = server_counts(engine, project_id, since, run=run)
                    if counts["active"] + counts["error"] + counts["building"] \
                            + counts["other"] == 0:
                        break
                    await asyncio.sleep(min(sample, 0.5))
                times["delete_end"] = time.monotonic()
    finally:
        stop.set()
        await monitor
        if queues:
            queues.close()
    after_delete = server_counts(engine, project_id, since, run=run) if delete else None
    accounting_final = verify(engine)
    with engine.connect() as conn:
        leftover_allocations = conn.execute(text(
            "SELECT count(*) FROM allocations a JOIN instances i ON i.uuid = a.instance_uuid "
            "WHERE i.project_id = :p AND i.created_at >= :since"),
            {"p": project_id, "since": since}).scalar()
    engine.dispose()
    report = _report(rec, times, final, after_delete, builds, last_active,
                     accounting_loaded, accounting_final, leftover_allocations, procs, servers,
                     clients, connections, rate, target)
    report["list_detail_limit_1000"] = listing
    return report


def _report(rec, times, final, after_delete, builds, last_active, accounting_loaded,
            accounting_final, leftover_allocations, procs, servers, clients, connections,
            rate, target):
    create_s = times["create_end"] - times["create_start"]
    latencies = [lat for _, lat, status in rec.creates if status == 202]
    samples = rec.samples
    report = {
        "conditions": {"servers": servers, "clients": clients, "connections": connections,
                       "open_loop_rate": rate, "hosts": target.hosts,
                       "cpus": os.cpu_count(), "url": target.url,
                       "load_average_at_start": rec.load_at_start},
        "create": {
            "sent": len(rec.creates), "accepted": len(rec.ids),
            "seconds": round(create_s, 2),
            "accept_rate": round(len(rec.ids) / max(create_s, 1e-6), 1),
            "accept_rate_peak_5s": _rate_peak(samples, "accepted"),
            "latency_ms": {"p50": _ms(percentile(latencies, 50)),
                           "p95": _ms(percentile(latencies, 95)),
                           "p99": _ms(percentile(latencies, 99)),
                           "max": _ms(max(latencies) if latencies else None)},
        },
        "build": {
            "active": final["active"], "error": final["error"],
            "still_building": final["building"] + final["other"],
            "seconds_to_last_active": round(float(last_active or 0), 2),
            "active_rate": round(final["active"] / last_active, 1) if last_active else None,
            "active_rate_peak_5s": _rate_peak(samples, "active"),
            "create_to_active_s": {"p50": _r(percentile(builds, 50)),
                                   "p95": _r(percentile(builds, 95)),
                                   "p99": _r(percentile(builds, 99))},
        },
        "errors": rec.errors,
        "retries": rec.retries,
        "accounting_when_loaded": accounting_loaded,
        "accounting_after": accounting_final,
        "processes": procs.summary(time.monotonic() - times["create_start"]),
        "create_latency_over_time": _latency_buckets(rec.creates),
        "samples": samples,
    }
    if after_delete is not None:
        delete_s = times["delete_end"] - times["delete_start"]
        dlat = [lat for _, lat, status in rec.deletes if status in (204, 404)]
        report["delete"] = {
            "sent": len(rec.deletes), "seconds": round(delete_s, 2),
            "rate": round(len(rec.deletes) / max(delete_s, 1e-6), 1),
            "api_rate": round(len(rec.deletes) / max(times["delete_sent"]
                                                     - times["delete_start"], 1e-6), 1),
            "latency_ms": {"p50": _ms(percentile(dlat, 50)), "p99": _ms(percentile(dlat, 99))},
            "left": after_delete["active"] + after_delete["error"]
            + after_delete["building"] + after_delete["other"],
            "left_allocations": leftover_allocations,
        }
    report["conditions"]["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
    report["exact"] = all(not v for v in accounting_loaded.values()) and all(
        not v for v in accounting_final.values())
    report["queue_depth_max"] = {k: max((s["queues"].get(k, 0) for s in samples), default=0)
                                 for k in ("conductor", "scheduler", "compute")}
    return report


def _latency_buckets(creates, width=1.0):
    """[[second, accepted in it, p50 ms, p99 ms]] of the creates sent in each second."""
    buckets = {}
    for sent, lat, status in creates:
        if status == 202:
            buckets.setdefault(int(sent / width), []).append(lat)
    return [[k * width, len(v), _ms(percentile(v, 50)), _ms(percentile(v, 99))]
            for k, v in sorted(buckets.items())]


def _r(value):
    return None if value is None else round(value, 3)


# -- output -------------------------------------------------------------------------------------
def print_summary(report, console=None):
    from rich.console import Console
    from rich.table import Table
    console = console or Console()
    c, b = report["create"], report["build"]
    table = Table("measure", "value", title="nova-lite flood")
    rows = [
        ("servers / clients", f"{report['conditions']['servers']} / "
                              f"{report['conditions']['clients']}"),
        ("accepted", f"{c['accepted']} of {c['sent']} in {c['seconds']} s"),
        ("API accept rate", f"{c['accept_rate']}/s (peak 5 s: {c['accept_rate_peak_5s']}/s)"),
        ("create latency p50/p95/p99", f"{c['latency_ms']['p50']} / {c['latency_ms']['p95']}"
                                       f" / {c['latency_ms']['p99']} ms"),
        ("ACTIVE / ERROR / building", f"{b['active']} / {b['error']} / {b['still_building']}"),
        ("end-to-end ACTIVE rate", f"{b['active_rate']}/s (peak 5 s: "
                                   f"{b['active_rate_peak_5s']}/s)"),
        ("create->ACTIVE p50/p95/p99", f"{b['create_to_active_s']['p50']} / "
                                       f"{b['create_to_active_s']['p95']} / "
                                       f"{b['create_to_active_s']['p99']} s"),
    ]
    if report.get("list_detail_limit_1000"):
        lst = report["list_detail_limit_1000"]
        rows.append(("GET /servers/detail?limit=1000", f"p50 {lst['latency_ms']['p50']} ms, "
                     f"p99 {lst['latency_ms']['p99']} ms ({lst['servers_per_page']} a page, "
                     f"{lst['failures']} failed)"))
    if "delete" in report:
        d = report["delete"]
        rows.append(("delete rate", f"{d['rate']}/s to gone ({d['api_rate']}/s API); "
                                    f"left {d['left']}, allocations left "
                                    f"{d['left_allocations']}"))
    rows.append(("errors", json.dumps(report["errors"]) if report["errors"] else "none"))
    if report.get("retries"):
        rows.append(("retried (connection reset)", json.dumps(report["retries"])))
    rows.append(("max queue depth", json.dumps(report["queue_depth_max"])))
    rows.append(("accounting exact", "yes" if report["exact"] else "NO"))
    for row in rows:
        table.add_row(*row)
    console.print(table)
    procs = Table("process", "CPU s", "avg cores", "peak RSS MiB", title="service processes")
    for name, p in sorted(report["processes"].items()):
        procs.add_row(name, str(p["cpu_seconds"]), str(p["avg_cores"]), str(p["peak_rss_mb"]))
    console.print(procs)
    if not report["exact"]:
        console.print({k: v for k, v in {**report["accounting_when_loaded"],
                                         **report["accounting_after"]}.items() if v})


def plot(report, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    samples = report["samples"]
    if len(samples) < 2:
        return
    t = [s["t"] for s in samples]

    def rate(key):
        out = [0.0]
        for a, b in zip(samples, samples[1:]):
            out.append(max(0.0, (b[key] - a[key]) / max(b["t"] - a["t"], 1e-6)))
        return out

    fig, axes = plt.subplots(4, 1, figsize=(10, 12), sharex=True)
    axes[0].plot(t, rate("accepted"), label="accepted/s (API)")
    axes[0].plot(t, rate("active"), label="ACTIVE/s")
    axes[0].plot(t, rate("deleted"), label="deleted/s")
    axes[0].set_ylabel("servers/s")
    axes[0].legend()
    buckets = report.get("create_latency_over_time") or []
    if buckets:
        axes[1].plot([b[0] for b in buckets], [b[2] for b in buckets], label="p50")
        axes[1].plot([b[0] for b in buckets], [b[3] for b in buckets], label="p99")
        axes[1].set_ylabel("create latency ms (by send time)")
        axes[1].legend()
    for key in ("conductor", "scheduler", "compute"):
        axes[2].plot(t, [s["queues"].get(key, 0) for s in samples], label=key)
    axes[2].set_ylabel("messages queued")
    axes[2].legend()
    for name in sorted(samples[-1]["cpu"]):
        axes[3].plot(t, [s["cpu"].get(name, 0) for s in samples], label=name)
    axes[3].set_ylabel("cores")
    axes[3].set_xlabel("seconds")
    axes[3].legend(fontsize="small", ncol=3)
    c, b = report["create"], report["build"]
    fig.suptitle(f"{report['conditions']['servers']} servers, "
                 f"{report['conditions']['clients']} clients: accept {c['accept_rate']}/s, "
                 f"ACTIVE {b['active_rate']}/s, p99 {c['latency_ms']['p99']} ms")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def rich_progress(total, deleting=True):
    """A rich progress display and the callback the monitor updates it with."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, \
        TimeElapsedColumn
    progress = Progress(TextColumn("{task.description:>9}"), BarColumn(),
                        MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                        TimeElapsedColumn())
    accepted = progress.add_task("accepted", total=total, info="")
    active = progress.add_task("ACTIVE", total=total, info="")
    deleted = progress.add_task("deleted", total=total, info="", visible=deleting)

    def update(rec, counts, depths):
        progress.update(accepted, completed=len(rec.ids),
                        info=f"errors {sum(rec.errors.values())}")
        progress.update(active, completed=counts["active"] + counts["deleted"],
                        info=f"building {counts['building']} error {counts['error']} "
                             f"queues {depths}")
        progress.update(deleted, completed=counts["deleted"])
    return progress, update


def run(target, servers, clients, show_progress=True, json_path=None, plot_path=None,
        **kwargs):
    progress = None
    update = None
    if show_progress:
        progress, update = rich_progress(servers, kwargs.get("delete", True))
    with progress if progress else contextlib.nullcontext():
        report = asyncio.run(flood(target, servers, clients, progress=update, **kwargs))
    if plot_path:
        plot(report, plot_path)
    if json_path:
        with open(json_path, "w") as f:
            json.dump(report, f, indent=1, default=str)
    return report


# -- a cloud of its own ----------------------------------------------------------------------
@contextlib.contextmanager
def own_cloud(hosts, schedulers=1, api_workers=2, extra_conf="", sim_conf="",
              batched_reports=True):
    """PostgreSQL, RabbitMQ and every service from the test fixtures; yields a Target."""
    from nova_lite.api.identity import tokens
    from tests.fixtures.postgres import PostgresServer
    from tests.fixtures.rabbitmq import RabbitServer
    from tests.fixtures.services import Cloud
    state = tempfile.mkdtemp(prefix="nl-flood-")
    postgres = PostgresServer().start()
    rabbit = RabbitServer().start()
    cloud = None
    try:
        key = os.path.join(state, "fernet.key")
        tokens.generate_key(key)
        cloud = Cloud(postgres, rabbit, state, key, sim_hosts=hosts, name="flood",
                      db_name="flood", vhost="flood", schedulers=schedulers,
                      api_workers=api_workers, batched_reports=batched_reports,
                      # Liveness travels through the conductor's queue, behind the
                      # builds: a backlog must not make every host look down, nor
                      # the reconciler re-send what is only queued (doc/scale.md).
                      default_conf="report_interval = 10\nservice_down_time = 300\n",
                      conductor_conf="reconcile_interval = 10\nredrive_after = 300\n",
                      # A pool as large as a process's busy threads: an overflow
                      # connection is opened and closed per use (a PostgreSQL
                      # backend started each time; 40 % of its CPU in a flood).
                      extra_conf="[database]\npool_size = 24\nmax_overflow = 8\n"
                      + extra_conf + "\n[rpc]\ncompute_queue_type = classic\n"
                      "[sim]\nreport_interval = 30\n" + sim_conf)
        cloud.start(timeout=max(120, hosts // 20))
        pids = {**cloud.pids(), "postgres": postgres.proc.pid,
                "rabbitmq": rabbit.beam_pid() or rabbit.proc.pid}
        target = Target(url=cloud.url, db_url=cloud.db_url,
                        amqp_url=cloud.rabbit_url.replace("rabbit://", "amqp://"), pids=pids)
        target.cloud = cloud
        yield target
    finally:
        if cloud is not None:
            cloud.stop()
        rabbit.stop()
        postgres.stop()
        if os.environ.get("FLOOD_KEEP_LOGS"):
            print(f"logs kept in {state}")
        else:
            shutil.rmtree(state, ignore_errors=True)


def pids_from(directory):
    found = {}
    if directory and os.path.isdir(directory):
        for name in os.listdir(directory):
            if name.endswith(".pid"):
                with contextlib.suppress(OSError, ValueError):
                    with open(os.path.join(directory, name)) as f:
                        found[name[:-4]] = int(f.read().split()[0])
    return found


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--queue-sampler"]:
        return queue_sampler(argv[1], argv[2], float(argv[3]))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--connections", type=int,
                        help="HTTP connections (default min(clients, 1000))")
    parser.add_argument("--rate", type=float, help="open loop: creates per second")
    parser.add_argument("--flavor", default="1")
    parser.add_argument("--image", help="image id (default: upload flood-tiny)")
    parser.add_argument("--no-delete", dest="delete", action="store_false")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds to wait for builds, and for deletes")
    parser.add_argument("--sample", type=float, default=1.0, help="monitor interval (s)")
    parser.add_argument("--json", default="flood.json")
    parser.add_argument("--plot", default="flood.png")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    cloud = parser.add_argument_group("a running cloud")
    cloud.add_argument("--url", default=os.environ.get("NOVA_LITE_URL",
                                                       "http://127.0.0.1:8774"))
    cloud.add_argument("--db", help="SQLAlchemy URL of its database")
    cloud.add_argument("--amqp", help="amqp:// URL of its broker (queue depths)")
    cloud.add_argument("--pid-dir", default="/run/nova-lite")
    cloud.add_argument("--user", default="demo")
    cloud.add_argument("--password", default=os.environ.get("OS_PASSWORD", DEMO_PASSWORD))
    cloud.add_argument("--project", default="demo")
    cloud.add_argument("--admin-password", default=ADMIN_PASSWORD)
    own = parser.add_argument_group("a cloud of its own (--start-cloud)")
    own.add_argument("--start-cloud", action="store_true")
    own.add_argument("--hosts", type=int, default=100, help="simulated hosts")
    own.add_argument("--schedulers", type=int, default=1)
    own.add_argument("--api-workers", type=int, default=2)
    own.add_argument("--spawn-time", type=float, default=0.0)
    own.add_argument("--delete-time", type=float, default=0.0)
    own.add_argument("--failure-rate", type=float, default=0.0)
    own.add_argument("--conf", default="", help="extra nova-lite.conf text (\\n for newlines)")
    own.add_argument("--per-host-reports", action="store_true",
                     help="one compute_node_update per host (default: batched, "
                          "compute_nodes_update)")
    args = parser.parse_args(argv)
    kwargs = dict(connections=args.connections, flavor=args.flavor, image=args.image,
                  rate=args.rate, delete=args.delete, timeout=args.timeout, sample=args.sample)
    if args.start_cloud:
        sim = (f"spawn_time = {args.spawn_time}\ndelete_time = {args.delete_time}\n"
               f"failure_rate = {args.failure_rate}\n")
        with own_cloud(args.hosts, args.schedulers, args.api_workers,
                       args.conf.replace("\\n", "\n"), sim,
                       not args.per_host_reports) as target:
            target.hosts = args.hosts
            report = run(target, args.servers, args.clients, not args.quiet, args.json,
                         args.plot, **kwargs)
    else:
        if not args.db:
            parser.error("--db is required for a running cloud (or use --start-cloud)")
        target = Target(url=args.url, db_url=args.db, amqp_url=args.amqp,
                        pids=pids_from(args.pid_dir), user=args.user,
                        password=args.password, project=args.project,
                        admin_password=args.admin_password)
        report = run(target, args.servers, args.clients, not args.quiet, args.json,
                     args.plot, **kwargs)
    print_summary(report)
    return 0 if report["exact"] and not report["errors"] and \
        report["build"]["still_building"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
