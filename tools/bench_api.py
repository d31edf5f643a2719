#!/usr/bin/env python3
"""CPU per request of the API's hot paths, in process, with no broker.

    tools/bench_api.py                        # 300 requests of each kind, 3 repeats
    tools/bench_api.py --requests 500 --repeat 5 --network
    tools/bench_api.py --profile              # + cProfile top 30 of each kind

Starts its own PostgreSQL (tests/fixtures/postgres.py), migrates and
bootstraps it as the test fixtures do (admin and demo users, the default
flavors) plus one public active image, builds the Flask app with its outbox
relay not started (outbox rows just accumulate: no RabbitMQ), logs in as demo
and then, per repeat, through Flask's test client (the whole WSGI stack):

    POST   /servers        the flood's body: name, imageRef, flavorRef "1"
    (untimed: every server is marked placed on a host and ACTIVE, as the
     flood's servers are when it deletes them)
    GET    /servers/{id}
    DELETE /servers/{id}   placed: task_state deleting + a terminate message

For each kind it prints the median over repeats of CPU ms per request
(time.process_time of this process: Python, Flask, SQLAlchemy and psycopg2),
PostgreSQL's CPU ms per request (its server processes' user + system time:
statements, triggers, commits), wall ms per request and SQL statements per
request.
``--network`` first gives the demo project a network with a /16 subnet, so
each create also makes a port and allocates an address. The demo project's
quotas are ``--quota`` (default 1,000,000 servers: finite, so every create
is checked) under ``--quota-driver`` (db; noop: not enforced).
"""
import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import event, text  # noqa: E402

from tests.fixtures.postgres import PostgresServer  # noqa: E402

ADMIN_PASSWORD = "admin-secret"
DEMO_PASSWORD = "demo-secret"
KINDS = ("create", "show", "delete")


def configure(pg, state_dir, quota=1_000_000, quota_driver="db"):
    """CONF, schema, users, flavors and a key, as tests/conftest.py sets them up;
    the demo project's quotas ``quota`` servers and ports (cores and RAM in
    proportion; -1 unlimited) under ``[quota] driver``."""
    from nova_lite import conf
    from nova_lite.api.identity import tokens
    from nova_lite.conf import CONF
    from nova_lite.db import bootstrap, migrate, session

    conf.parse_args([], default_config_files=[])
    key_file = os.path.join(state_dir, "fernet.key")
    for (group, name), value in {
            ("database", "connection"): pg.url(),
            ("database", "pool_size"): 4,
            ("rpc", "transport_url"): "rabbit://guest:guest@127.0.0.1:1/",   # never used
            ("identity", "fernet_key_file"): key_file,
            ("image", "storage_dir"): os.path.join(state_dir, "images"),
            ("quota", "driver"): quota_driver,
            (None, "state_path"): state_dir}.items():
        CONF.set_override(name, value, group=group)
    tokens.generate_key(key_file)
    migrate.sync(pg.url())
    session.reset()
    bootstrap.ensure_user("admin", ADMIN_PASSWORD, "admin", "admin")
    bootstrap.ensure_user("demo", DEMO_PASSWORD, "demo", "member")
    bootstrap.ensure_default_flavors()
    image_id = str(uuid.uuid4())
    with session.transaction() as s:
        from nova_lite.db import quotas
        demo = s.execute(text("SELECT id FROM projects WHERE name = 'demo'")).scalar()
        scaled = (lambda n: -1 if quota < 0 else min(2**31 - 1, quota * n))
        quotas.set_limits(s, demo, {"instances": scaled(1), "cores": scaled(64),
                                    "ram": scaled(65536), "port": scaled(1)}, force=True)
        s.execute(text("""
            INSERT INTO images (id, name, status, visibility, protected, disk_format,
                                container_format, size, min_disk, min_ram, tags,
                                properties, deleted, created_at)
            VALUES (:id, 'bench', 'active', 'public', false, 'qcow2', 'bare', 65536,
                    0, 0, '[]', '{}', false, now())"""), {"id": image_id})
    return image_id


def login(client, user, password, project):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
    response = client.post("/identity/v3/auth/tokens", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return {"X-Auth-Token": response.headers["X-Subject-Token"]}


def make_network(client, admin_headers, project):
    """The project's network with a /16, made by the admin for it (a /16 is
    more than a project may make itself: [network]
    project_largest_subnet_prefixlen_v4)."""
    from nova_lite.db import bootstrap
    project_id, _ = bootstrap.ensure_project(project)
    response = client.post("/network/v2.0/networks", headers=admin_headers,
                           json={"network": {"name": "bench", "project_id": project_id}})
    assert response.status_code == 201, response.get_data(as_text=True)
    network_id = response.get_json()["network"]["id"]
    response = client.post("/network/v2.0/subnets", headers=admin_headers, json={"subnet": {
        "network_id": network_id, "cidr": "10.64.0.0/16", "ip_version": 4,
        "project_id": project_id}})
    assert response.status_code == 201, response.get_data(as_text=True)


class StatementCounter:
    def __init__(self, engine):
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *args):
        self.count += 1


def place(ids):
    """Mark the servers placed and ACTIVE, as a build would have left them."""
    from nova_lite.db.session import transaction
    with transaction() as s:
        s.execute(text("""
            UPDATE instances SET host = 'bench-host', node = 'bench-host',
                   vm_state = 'active', task_state = NULL, power_state = 1
            WHERE uuid = ANY(:ids)"""), {"ids": ids})


def server_cpu(pg):
    """CPU seconds (user + system) of the PostgreSQL server: the postmaster
    and its children (our backends, the WAL writer, the checkpointer ...)."""
    import psutil
    total = 0.0
    try:
        root = psutil.Process(pg.proc.pid)
        for proc in [root] + root.children(recursive=True):
            try:
                times = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
    except psutil.NoSuchProcess:
        pass
    return total


def run_kind(kind, client, headers, image_id, n, run, ids, counter, pg, profiler=None):
    """Issue n requests of one kind; return (cpu s, wall s, statements, pg cpu s)."""
    expected = {"create": 202, "show": 200, "delete": 204}[kind]
    if kind == "create":
        def one(i):
            body = {"server": {"name": f"bench-{run}-{i}", "imageRef": image_id,
                               "flavorRef": "1"}}
            response = client.post("/compute/v2.1/servers", json=body, headers=headers)
            if response.status_code == expected:
                ids.append(response.get_json()["server"]["id"])
            return response
    elif kind == "show":
        def one(i):
            return client.get(f"/compute/v2.1/servers/{ids[i]}", headers=headers)
    else:
        def one(i):
            return client.delete(f"/compute/v2.1/servers/{ids[i]}", headers=headers)
    statements = counter.count
    if profiler:
        profiler.enable()
    cpu, wall, pg_cpu = time.process_time(), time.perf_counter(), server_cpu(pg)
    for i in range(n):
        response = one(i)
        if response.status_code != expected:
            raise SystemExit(f"{kind} #{i}: {response.status_code} "
                             f"{response.get_data(as_text=True)}")
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    pg_cpu = server_cpu(pg) - pg_cpu
    if profiler:
        profiler.disable()
    return cpu, wall, counter.count - statements, pg_cpu


def bench(args):
    from nova_lite.api.app import create_app
    from nova_lite.db.session import get_engine

    pg = PostgresServer().start()
    state_dir = tempfile.mkdtemp(prefix="nl-bench-api-")
    try:
        image_id = configure(pg, state_dir, args.quota, args.quota_driver)
        app = create_app(start_relay=False)
        client = app.test_client()
        headers = login(client, "demo", DEMO_PASSWORD, "demo")
        if args.network:
            make_network(client, login(client, "admin", ADMIN_PASSWORD, "admin"), "demo")
        counter = StatementCounter(get_engine())
        # Warm up (imports, caches, connection pool), untimed.
        ids = []
        run_kind("create", client, headers, image_id, 20, "warm", ids, counter, pg)
        place(ids)
        run_kind("show", client, headers, image_id, 20, "warm", ids, counter, pg)
        run_kind("delete", client, headers, image_id, 20, "warm", ids, counter, pg)
        results = {kind: [] for kind in KINDS}
        profilers = {kind: cProfile.Profile(time.process_time) for kind in KINDS} if args.profile else {}
        for rep in range(args.repeat):
            ids = []
            for kind in KINDS:
                results[kind].append(run_kind(
                    kind, client, headers, image_id, args.requests, f"{rep}", ids, counter,
                    pg, profilers.get(kind) if rep == 0 else None))
                if kind == "create":
                    place(ids)
        return summarize(args, results, profilers)
    finally:
        from nova_lite.db import session
        session.reset()
        pg.stop()


def summarize(args, results, profilers):
    n = args.requests
    summary = {}
    print(f"\n{n} requests of each kind x {args.repeat} repeats"
          f"{' (with a network: a port and an address per server)' if args.network else ''}"
          f"{' (first repeat under cProfile)' if args.profile else ''}")
    print(f"{'request':<24}{'CPU ms/req':>12}{'PG CPU ms/req':>15}{'wall ms/req':>13}"
          f"{'SQL/req':>9}{'CPU ms runs':>28}{'PG CPU ms runs':>28}")
    labels = {"create": "POST /servers", "show": "GET /servers/{id}",
              "delete": "DELETE /servers/{id}"}
    runs = {k: v[1:] if args.profile and len(v) > 1 else v for k, v in results.items()}
    for kind in KINDS:
        cpu = statistics.median(r[0] for r in runs[kind]) * 1000 / n
        wall = statistics.median(r[1] for r in runs[kind]) * 1000 / n
        stmts = statistics.median(r[2] for r in runs[kind]) / n
        pg_cpu = statistics.median(r[3] for r in runs[kind]) * 1000 / n
        spread = " ".join(f"{r[0] * 1000 / n:.2f}" for r in runs[kind])
        pg_spread = " ".join(f"{r[3] * 1000 / n:.2f}" for r in runs[kind])
        print(f"{labels[kind]:<24}{cpu:>12.2f}{pg_cpu:>15.2f}{wall:>13.2f}{stmts:>9.1f}"
              f"  {spread:>26}  {pg_spread:>26}")
        summary[kind] = {"cpu_ms": round(cpu, 3), "pg_cpu_ms": round(pg_cpu, 3),
                         "wall_ms": round(wall, 3), "statements": stmts}
    for kind, profiler in profilers.items():
        out = io.StringIO()
        restrict = [args.filter, 30] if args.filter else [30]
        pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(*restrict)
        print(f"\n=== cProfile {labels[kind]} ({n} requests), by {args.sort}")
        print(out.getvalue())
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"requests": n, "repeat": args.repeat, "network": args.network,
                       "results": summary}, f, indent=2)
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300,
                        help="requests of each kind per repeat")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--network", action="store_true",
                        help="give the project a network (a port + address per server)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile (CPU time) the first repeat; print the top 30 of "
                             "each kind (that repeat is left out of the medians)")
    parser.add_argument("--sort", default="tottime", help="pstats sort key (--profile)")
    parser.add_argument("--filter", help="only functions whose path matches this regular "
                                         "expression (--profile), e.g. nova_lite")
    parser.add_argument("--quota", type=int, default=1_000_000,
                        help="the demo project's limit of servers and ports (cores x64, "
                             "RAM x64 GiB); -1: unlimited")
    parser.add_argument("--quota-driver", default="db", choices=("db", "noop"),
                        help="[quota] driver: db enforces, noop does not")
    parser.add_argument("--json", help="write the medians here")
    args = parser.parse_args(argv)
    if args.profile and args.repeat < 2:
        args.repeat = 2
    bench(args)


if __name__ == "__main__":
    main()
