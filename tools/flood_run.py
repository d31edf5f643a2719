"""One flood session against a cloud, in phases: create (closed or open
loop), settle (every server ACTIVE or ERROR), list, delete. A session logs
in, finds the image, watches the cloud (flood_watch) and holds one HTTP
session (flood_http) for all its phases, so a sweep runs many create phases
in one session."""
import asyncio
import contextlib
import os
import time
import uuid

from sqlalchemy import create_engine, text

import flood_http
from flood_check import verify
from flood_watch import ProcessWatch, QueueWatch, monitor, server_counts

CLIENT = "flood (this client)"


class Flood:
    """``async with Flood(target, ...) as f:`` then its phases. Servers are
    named ``flood-<run><tag>-<n>`` (``-<n>-<i>`` when a request creates
    several): a phase's ``tag`` tells its servers from the other phases' of
    the same session."""

    def __init__(self, target, connections, flavor="1", image=None, sample=1.0,
                 progress=None, request_timeout=60.0, cidr=flood_http.DEFAULT_CIDR):
        self.target = target
        # The real path (``openstack server create --network X``): each
        # server gets a port on the flood's network (a subnet ``cidr``) in
        # the project's 'default' group. None: servers without a network.
        self.cidr = cidr
        self.net = None
        # At most this many of the run's servers accepted and not yet settled
        # (None: no limit): a client waits before its next create.
        self.max_building = None
        self.connections = connections
        self.flavor = flavor
        self.image = image
        self.sample = sample
        self.progress = progress
        self.request_timeout = request_timeout
        self.rec = flood_http.Recorder()
        self.run = self.rec.run = uuid.uuid4().hex[:6]
        self.phase = {"name": "create"}
        self.nofile = flood_http.raise_nofile(connections)

    async def __aenter__(self):
        target = self.target
        self.auth = flood_http.Auth(target.url, target.user, target.password, target.project)
        self.project_id = self.auth.project_id
        admin_token, _ = flood_http.login(target.url, "admin", target.admin_password, "admin")
        self.image = self.image or flood_http.ensure_image(target.url, admin_token)
        self.quota = flood_http.ensure_quota(target.url, admin_token, self.project_id,
                                             getattr(target, "quota", 1_000_000))
        if self.cidr:
            self.net = flood_http.ensure_network(target.url, self.auth.token, self.project_id,
                                                 self.cidr, admin_token=admin_token)
        self.engine = create_engine(target.db_url, pool_size=4)
        with self.engine.connect() as conn:
            self.since = conn.execute(text("SELECT now()")).scalar()
        self.subnet_used_at_start = self.subnet_used()
        self.queues = QueueWatch(target.amqp_url, target.db_url) if target.amqp_url else None
        self.procs = ProcessWatch({**target.pids, CLIENT: os.getpid()}, flat=(CLIENT,))
        self.stop = asyncio.Event()
        self.monitor = asyncio.create_task(monitor(
            self.rec, self.engine, self.project_id, self.since, self.queues, self.procs,
            self.stop, self.progress, self.sample, self.phase))
        self.http = flood_http.session(target.url, self.auth, self.connections,
                                       self.request_timeout)
        return self

    async def __aexit__(self, *exc):
        self.stop.set()
        await self.monitor
        if self.queues:
            self.queues.close()
        await self.http.close()

    # -- names and SQL --------------------------------------------------------------------
    def like(self, tag=""):
        return f"flood-{self.run}{tag}-%"

    def _sql(self, query, **params):
        """Every row of ``query`` (``:p`` the project, ``:since`` the start)."""
        with self.engine.connect() as conn:
            return conn.execute(text(query), {"p": self.project_id, "since": self.since,
                                              **params}).all()

    def _scalar(self, query, **params):
        rows = self._sql(query, **params)
        return rows[0][0] if rows else None

    def counts(self, tag=""):
        return server_counts(self.engine, self.project_id, self.since,
                             run=f"{self.run}{tag}-")

    def db_transactions(self):
        """Write transactions begun so far (transaction ids assigned, by every
        database of the server: the next xid to be assigned, which reading
        does not consume). Exact at once, where pg_stat_database's counts
        lag by up to seconds; read-only transactions are not counted."""
        with contextlib.suppress(Exception):
            with self.engine.connect() as conn:
                return int(conn.execute(text(
                    "SELECT txid_snapshot_xmax(txid_current_snapshot())")).scalar())
        return None

    def exists(self, name):
        return self._scalar("SELECT uuid FROM instances WHERE project_id = :p AND NOT deleted "
                            "AND created_at >= :since AND name = :name", name=name)

    def backlog(self):
        """Servers accepted and not settled (ACTIVE, ERROR or gone): building at
        the monitor's last count, and every one accepted since."""
        if not self.rec.samples:
            return self.rec.accepted
        s = self.rec.samples[-1]
        return s["building"] + s["other"] + self.rec.accepted - s["accepted"]

    def server_nics(self):
        """What a create body adds for the network (as ``openstack server
        create --network X`` sends it), or nothing (--no-network)."""
        if not self.net:
            return {"networks": "none"}
        return {"networks": [{"uuid": self.net["network_id"]}],
                "security_groups": [{"name": "default"}]}

    def network_counts(self, tag=""):
        """The run's live servers, and how many of them have a port on the
        flood's network, an address of its subnet on that port, and that
        port in the project's 'default' group (SQL, from ports,
        ip_allocations and port_security_groups); None without a network."""
        if not self.net:
            return None
        row = self._sql("""
            SELECT count(DISTINCT i.uuid),
                   count(DISTINCT i.uuid) FILTER (WHERE p.id IS NOT NULL),
                   count(DISTINCT i.uuid) FILTER (WHERE a.address IS NOT NULL),
                   count(DISTINCT i.uuid) FILTER (WHERE g.port_id IS NOT NULL),
                   count(DISTINCT i.uuid) FILTER (WHERE i.vm_state = 'active'),
                   count(a.address)
            FROM instances i
            LEFT JOIN ports p ON p.device_id = i.uuid AND p.network_id = :net
            LEFT JOIN ip_allocations a ON a.port_id = p.id AND a.subnet_id = :subnet
            LEFT JOIN port_security_groups g ON g.port_id = p.id
                 AND g.security_group_id = :group
            WHERE i.project_id = :p AND NOT i.deleted AND i.created_at >= :since
              AND i.name LIKE :name""", net=self.net["network_id"],
                        subnet=self.net["subnet_id"], group=self.net["security_group_id"],
                        name=self.like(tag))[0]
        return {"network": self.net["name"], "cidr": self.net["cidr"],
                "servers": row[0], "with_port": row[1], "with_address": row[2],
                "in_default_group": row[3], "active": row[4], "addresses": row[5]}

    def subnet_used(self):
        """Addresses of the flood's subnet held by a port (None without one)."""
        if not self.net:
            return None
        return self._scalar("SELECT count(*) FROM ip_allocations WHERE subnet_id = :s "
                            "AND port_id IS NOT NULL", s=self.net["subnet_id"])

    # -- phases ---------------------------------------------------------------------------
    def server_groups(self, count, size):
        """Make ceil(count / size) anti-affinity server groups (their quotas
        raised first, as admin); their ids."""
        admin_token, _ = flood_http.login(self.target.url, "admin",
                                          self.target.admin_password, "admin")
        return flood_http.make_server_groups(self.target.url, admin_token, self.auth.token,
                                             self.project_id, -(-count // size), size,
                                             f"flood-{self.run}")

    async def create(self, count, clients, rate=None, tag="", batch=1, until=None,
                     anti_affinity=0):
        """Create ``count`` servers, ``batch`` a request (a multi-create,
        min_count = max_count; the last request asks for the rest), with
        ``clients`` clients (closed loop) or at ``rate`` servers/s (open
        loop: rate / batch requests/s). Returns {start, end, cpu_s, ids,
        accepted, requests, batch, db_transactions}: ``ids`` those the API
        answered with (a request's first server's; the others are found by
        name when deleting), ``accepted`` the servers accepted, this
        process's CPU seconds and the database's write transactions
        meanwhile. Servers are named ``<prefix><n>`` (request n of one
        server) or ``<prefix><n>-1..<prefix><n>-<batch>``."""
        rec, prefix = self.rec, f"flood-{self.run}{tag}-"
        first, accepted = len(rec.ids), rec.accepted
        image, flavor = self.image, self.flavor
        nics = self.server_nics()
        batch = max(1, int(batch))
        if until is not None:
            count, batch = 1 << 62, 1
        requests = -(-count // batch)
        groups = self.server_groups(count, anti_affinity) if anti_affinity else None

        async def job(n):
            while self.max_building and self.backlog() >= self.max_building and not (
                    until is not None and until.is_set()):
                await asyncio.sleep(0.05)
            size = min(batch, count - n * batch)
            server = {"name": f"{prefix}{n}", "imageRef": image, "flavorRef": flavor,
                      **nics}
            if size > 1:
                server.update(min_count=size, max_count=size)
            body = {"server": server}
            if groups:
                body["os:scheduler_hints"] = {"group": groups[n // anti_affinity]}
            await flood_http.create(self.http, rec, body, self.exists)

        xacts = self.db_transactions()
        cpu, start = time.process_time(), time.monotonic()
        if until is not None:
            requests = await flood_http.closed_loop_until(until, clients, job)
        elif rate:
            await flood_http.open_loop(requests, clients, rate / batch, job)
        else:
            await flood_http.closed_loop(requests, clients, job)
        end, cpu = time.monotonic(), time.process_time() - cpu
        after = self.db_transactions()
        return {"start": start, "end": end, "cpu_s": cpu, "ids": rec.ids[first:],
                "accepted": rec.accepted - accepted, "requests": requests, "batch": batch,
                "xacts_at_start": xacts,
                "db_transactions": None if None in (xacts, after) else after - xacts}

    async def settle(self, created, timeout, tag=""):
        """Wait until no server of ``tag`` is building (at most ``timeout``
        s); adds to ``created`` (what create returned) the database's write
        transactions from its start to now ("db_write_transactions_to_settled")."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            counts = self.counts(tag)
            if counts["building"] == 0 and counts["other"] == 0:
                break
            await asyncio.sleep(self.sample)
        xacts = self.db_transactions()
        created["db_write_transactions_to_settled"] = None if None in (
            xacts, created["xacts_at_start"]) else xacts - created["xacts_at_start"]
        return self.counts(tag)

    def builds(self, tag=""):
        """(created -> launched seconds of each server, seconds from the first
        created to the last launched)."""
        cond = ("WHERE project_id = :p AND created_at >= :since AND name LIKE :name "
                "AND launched_at IS NOT NULL")
        name = self.like(tag)
        builds = [float(r[0]) for r in self._sql(
            "SELECT extract(epoch FROM launched_at - created_at) FROM instances " + cond,
            name=name)]
        last = self._scalar("SELECT extract(epoch FROM max(launched_at) - min(created_at)) "
                            "FROM instances " + cond, name=name)
        return builds, float(last or 0)

    async def list_latency(self, samples):
        return await flood_http.list_latency(self.http, samples)

    async def delete(self, ids, clients, timeout, tag=""):
        """Delete ``ids`` and whatever of ``tag`` exists that they are not: the
        servers of a multi-create but its first (the API answers with that
        one's id only), and those whose answer was lost (a client timeout
        after the API committed); one DELETE per server. Then wait until none
        is left; returns {start, sent, end, cpu_s, count, left}."""
        found = [r[0] for r in self._sql(
            "SELECT uuid FROM instances WHERE project_id = :p AND NOT deleted "
            "AND created_at >= :since AND name LIKE :name", name=self.like(tag))]
        known = set(ids)
        ids = list(ids) + [u for u in found if u not in known]
        rec = self.rec

        async def job(n):
            await flood_http.delete(self.http, rec, ids[n])

        cpu, start = time.process_time(), time.monotonic()
        await flood_http.closed_loop(len(ids), clients, job)
        sent, cpu = time.monotonic(), time.process_time() - cpu
        deadline = time.monotonic() + timeout
        while True:
            counts = self.counts(tag)
            left = counts["active"] + counts["error"] + counts["building"] + counts["other"]
            if left == 0 or time.monotonic() >= deadline:
                break
            await asyncio.sleep(min(self.sample, 0.5))
        return {"start": start, "sent": sent, "end": time.monotonic(), "cpu_s": cpu,
                "count": len(ids), "left": left}

    def accounting(self):
        return verify(self.engine)

    def leftover_allocations(self):
        return self._scalar(
            "SELECT count(*) FROM allocations a JOIN instances i ON i.uuid = a.instance_uuid "
            "WHERE i.project_id = :p AND i.created_at >= :since")

    def close(self):
        with contextlib.suppress(Exception):
            self.engine.dispose()
