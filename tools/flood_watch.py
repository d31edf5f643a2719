"""What a flood watches while it runs: the CPU and RSS of the service
processes, the depth of the queues, and the servers of the run by state (SQL).

Run as a script it is the child process that sums every compute.<host>
queue's depth (QueueWatch): ``flood_watch.py AMQP_URL DB_URL EVERY``."""
import asyncio
import contextlib
import os
import subprocess
import sys
import threading
import time

import psutil
from sqlalchemy import create_engine, text


# -- sampling -----------------------------------------------------------------------------
class ProcessWatch:
    """CPU seconds and peak memory of named process trees (a pid and its
    children). Memory (PSS: the kernel walks every mapping of every process,
    a third of a core each second for a loaded cloud's PostgreSQL and
    RabbitMQ) is read every ``memory_every`` s; samples in between repeat it."""

    def __init__(self, pids, flat=(), memory_every=10.0):
        self.memory_every = memory_every
        self.memory = {}               # name -> bytes, as last read
        self.memory_read_at = None
        self.flat = set(flat)          # names counted without their children
        self.procs = {}
        for name, pid in pids.items():
            try:
                self.procs[name] = psutil.Process(pid)
            except psutil.NoSuchProcess:
                continue
        self.names = {p.pid: n for n, p in self.procs.items()}
        self.base = dict.fromkeys(self.procs, 0.0)     # CPU of processes replaced
        self.start_cpu = {n: self._cpu(p) for n, p in self.procs.items()}
        self.peak_rss = dict.fromkeys(self.procs, 0)
        self.last_cpu = dict(self.start_cpu)
        self.last_time = time.monotonic()

    def rebind(self, name, pid):
        """``name`` now runs as ``pid`` (a service restarted): its CPU goes on
        from what the process it replaces had used."""
        try:
            proc = psutil.Process(pid)
        except psutil.NoSuchProcess:
            return
        if name in self.procs:
            self.base[name] = self.last_cpu[name]
            self.names.pop(self.procs[name].pid, None)
        else:
            self.base[name] = self.start_cpu[name] = self.last_cpu[name] = 0.0
            self.peak_rss[name] = 0
        self.procs[name] = proc
        self.names[pid] = name

    def _total(self, name):
        return self.base.get(name, 0.0) + self._cpu(self.procs[name])

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
        """Memory of the process tree as PSS (a shared page counts once,
        divided among its sharers: PostgreSQL's backends all map its shared
        buffers, gunicorn's workers their master's pages); RSS where PSS is
        not readable."""
        total = 0
        for p in self._tree(proc):
            try:
                try:
                    total += p.memory_full_info().pss
                except (psutil.AccessDenied, AttributeError):
                    total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def sample(self, final=False):
        """{name: (cores used since the last sample, memory MiB)}; memory is
        read again if ``memory_every`` s have passed (or ``final``)."""
        now = time.monotonic()
        elapsed = max(now - self.last_time, 1e-6)
        if final or self.memory_read_at is None or now - self.memory_read_at >= self.memory_every:
            self.memory = {name: self._rss(proc) for name, proc in list(self.procs.items())}
            self.memory_read_at = now
        out = {}
        for name in list(self.procs):
            # A child that has exited but is not reaped yet is in neither its
            # own times nor its parent's children_*: the tree's total dips,
            # then jumps when it is reaped. Counting from the highest total
            # seen keeps a sample from going negative (and the jump smaller).
            cpu = max(self._total(name), self.last_cpu[name])
            rss = self.memory.get(name, 0)
            self.peak_rss[name] = max(self.peak_rss[name], rss)
            out[name] = (round((cpu - self.last_cpu[name]) / elapsed, 2), rss >> 20)
            self.last_cpu[name] = cpu
        self.last_time = now
        return out

    def summary(self, seconds):
        return {name: {"cpu_seconds": round(self._total(name) - self.start_cpu[name], 1),
                       "avg_cores": round((self._total(name) - self.start_cpu[name])
                                          / max(seconds, 1e-6), 2),
                       "peak_rss_mb": self.peak_rss[name] >> 20}
                for name in list(self.procs)}


class QueueWatch:
    """Messages waiting in the shared queues (each sample) and, summed, in
    every compute.<host>: ten thousand passive declares take a second of CPU,
    so a child process of its own walks them every ``compute_every`` s (in this
    process it would hold the GIL from the clients' event loop)."""

    def __init__(self, amqp_url, db_url, compute_every=10.0):
        self.amqp_url = amqp_url
        self.conn = self._connect(amqp_url)
        self.compute_total = 0
        self.sampler = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), amqp_url, db_url, str(compute_every)],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
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
    was accepted and is no longer live. ``run``: the servers named
    ``flood-<run>...``."""
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


COUNT_COST_FACTOR = 20


async def monitor(rec, engine, project_id, since, queues, procs, stop, progress,
                  interval, phase):
    """Every ``interval`` s until ``stop``: a sample of states, queues and CPU
    into ``rec.samples``, and the progress display updated. A sample's
    ``accepted`` counts servers, ``create_requests_sent`` requests (they
    differ with --batch); its state counts (active, deleted, ...) were taken
    at ``counted_t``, which samples between two counts repeat."""
    counts, next_count, counted_at = None, 0.0, 0.0
    while not stop.is_set():
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        if counts is None or started >= next_count:
            counted_at = started
            # Counting is a scan of the run's live rows (a million, at the end
            # of the largest run): keep it to ~5 % of a PostgreSQL core by
            # counting at most every 20x as long as the last count took;
            # samples in between repeat the last counts.
            try:
                counts = await loop.run_in_executor(None, server_counts, engine, project_id,
                                                    since, rec.accepted, rec.run)
                next_count = started + COUNT_COST_FACTOR * (time.monotonic() - started)
            except Exception:  # noqa: BLE001 - the database restarting (fault mode)
                # The last counts again, read when they were; a new read next time.
                counts = counts or {"active": 0, "error": 0, "building": 0, "deleted": 0,
                                    "other": 0}
                counted_at = rec.samples[-1]["counted_t"] + rec.t0 if rec.samples \
                    else started
        try:
            depths = await loop.run_in_executor(None, queues.sample) if queues else {}
        except Exception:  # noqa: BLE001 - the broker restarting
            depths = {}
        cpu = await loop.run_in_executor(None, procs.sample)   # off the clients' loop
        rec.samples.append({"t": round(started - rec.t0, 2),
                            "counted_t": round(counted_at - rec.t0, 2),
                            "phase": phase["name"],
                            "accepted": rec.accepted,
                            "create_requests_sent": len(rec.creates),
                            "deletes_sent": len(rec.deletes), **counts,
                            "queues": depths, "cpu": {k: v[0] for k, v in cpu.items()},
                            "rss_mb": {k: v[1] for k, v in cpu.items()}})
        if progress:
            progress(rec, counts, depths)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.05, interval - (
                time.monotonic() - started)))


if __name__ == "__main__":
    queue_sampler(sys.argv[1], sys.argv[2], float(sys.argv[3]))
