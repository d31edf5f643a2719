#!/usr/bin/env python3
"""GET /servers/detail?limit=1000 under each sort, on a large instances table.

    tools/bench_server_list.py                     # 100,000 servers, 20 pages a sort
    tools/bench_server_list.py --rows 1000000 --requests 30

Starts its own PostgreSQL (tests/fixtures/postgres.py), migrates and
bootstraps it as tools/bench_api.py does, writes ``--rows`` servers straight
into the table (spread over 1,000 projects, 10,000 users and hosts, a tenth
soft-deleted, their sort columns varied and partly NULL; no quota triggers)
and ANALYZEs it. Then, through Flask's test client (the whole WSGI stack,
the relay not started), as admin over every project
(``all_tenants=1``), for each sort key and direction: the first page and
pages after markers drawn at random from the table, ``limit=1000`` each;
and the member's own project's list, newest first. Prints p50 and p99 wall
ms per request for each, and the rows each page returned.
"""
import argparse
import os
import random
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sqlalchemy import text  # noqa: E402

import bench_api  # noqa: E402
from tests.fixtures.postgres import PostgresServer  # noqa: E402

SORT_KEYS = ("created_at", "updated_at", "display_name", "uuid", "vm_state", "task_state",
             "power_state", "launched_at", "terminated_at", "host", "node", "key_name",
             "availability_zone", "user_id", "project_id", "image_ref", "instance_type_id")


def fill(rows, demo_project, batch=200_000):
    """``rows`` servers, 1% of them the demo project's, in batches."""
    from nova_lite.db import session
    started = time.monotonic()
    for first in range(1, rows + 1, batch):
        last = min(rows, first + batch - 1)
        with session.transaction() as s:
            s.execute(text("SET LOCAL session_replication_role = replica"))
            s.execute(text("""
                INSERT INTO instances (uuid, name, project_id, user_id, flavor_id, flavor,
                    vcpus, memory_mb, root_gb, ephemeral_gb, vm_state, task_state,
                    power_state, key_name, availability_zone, host, node, image_ref,
                    metadata, launch_index, config_drive, locked, progress, deleted,
                    task_nudges, created_at, updated_at, launched_at, terminated_at,
                    deleted_at)
                SELECT gen_random_uuid()::text, 'vm-' || i,
                       CASE WHEN i % 100 = 1 THEN :demo ELSE 'p-' || (i % 1000) END,
                       'u-' || (i % 10000), (1 + i % 5)::text, '{"name": "m1.tiny"}',
                       1, 512, 1, 0,
                       (ARRAY['active','active','active','stopped','error'])[1 + i % 5],
                       CASE WHEN i % 97 = 0 THEN 'rebooting' END, (ARRAY[1,1,1,4,0])[1 + i % 5],
                       CASE WHEN i % 3 > 0 THEN 'key-' || (i % 5000) END,
                       'az-' || (i % 10), 'host-' || (i % 10000), 'host-' || (i % 10000),
                       md5((i % 500)::text), '{}', 0, '', i % 1000 = 0, 0, i % 10 = 0, 0,
                       now() - (:rows - i) * interval '1 second',
                       now() - (:rows - i) * interval '1 second' + (i % 600) * interval '1 second',
                       CASE WHEN i % 4 > 0 THEN now() - (:rows - i) * interval '1 second' END,
                       CASE WHEN i % 10 = 0 THEN now() END,
                       CASE WHEN i % 10 = 0 THEN now() END
                FROM generate_series(:first, :last) i"""),
                {"demo": demo_project, "rows": rows, "first": first, "last": last})
        print(f"  {last:,} rows ({time.monotonic() - started:.0f} s)", flush=True)
    with session.get_engine().connect().execution_options(
            isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE instances"))
    print(f"  filled and analysed in {time.monotonic() - started:.0f} s", flush=True)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def measure(client, headers, query, markers, requests):
    """Wall ms of the first page and of pages after random markers."""
    times, sizes = [], []
    for n in range(requests):
        url = f"/compute/v2.1/servers/detail?{query}&limit=1000"
        if n:
            url += f"&marker={random.choice(markers)}"
        started = time.perf_counter()
        reply = client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert reply.status_code == 200, reply.get_data(as_text=True)[:500]
        sizes.append(len(reply.get_json()["servers"]))
    return times, sizes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20,
                        help="pages per sort and direction (the first, then after "
                             "random markers)")
    parser.add_argument("--keys", default=",".join(SORT_KEYS))
    args = parser.parse_args(argv)
    random.seed(1)

    pg = PostgresServer().start()
    state_dir = tempfile.mkdtemp(prefix="nl-bench-list-")
    try:
        bench_api.configure(pg, state_dir, quota=-1)
        from nova_lite.api.app import create_app
        from nova_lite.db import session
        with session.transaction() as s:
            demo = s.execute(text("SELECT id FROM projects WHERE name = 'demo'")).scalar()
        print(f"filling {args.rows:,} servers", flush=True)
        fill(args.rows, demo)
        with session.transaction() as s:
            markers = s.execute(text(
                "SELECT uuid FROM instances TABLESAMPLE SYSTEM (1) WHERE NOT deleted "
                "LIMIT 2000")).scalars().all()
            mine = s.execute(text(
                "SELECT uuid FROM instances WHERE project_id = :p AND NOT deleted LIMIT 500"),
                {"p": demo}).scalars().all()
        app = create_app(start_relay=False)
        client = app.test_client()
        admin = bench_api.login(client, "admin", bench_api.ADMIN_PASSWORD, "admin")
        demo_headers = bench_api.login(client, "demo", bench_api.DEMO_PASSWORD, "demo")
        measure(client, admin, "all_tenants=1", markers, 3)      # warm up, untimed
        print(f"\nGET /servers/detail?limit=1000, {args.rows:,} servers, "
              f"{args.requests} pages each (the first, then after random markers)")
        print(f"{'sort':<34}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'rows/page':>11}")
        rows = []
        for key in args.keys.split(","):
            for direction in ("asc", "desc"):
                times, sizes = measure(client, admin,
                                       f"all_tenants=1&sort_key={key}&sort_dir={direction}",
                                       markers, args.requests)
                rows.append((f"admin, all: {key} {direction}", times, sizes))
                print(f"{rows[-1][0]:<34}{statistics.median(times):>9.0f}"
                      f"{percentile(times, 0.99):>9.0f}{max(times):>9.0f}"
                      f"{statistics.median(sizes):>11.0f}", flush=True)
        times, sizes = measure(client, demo_headers, "x=1", mine, args.requests)
        print(f"{'member, own project: default':<34}{statistics.median(times):>9.0f}"
              f"{percentile(times, 0.99):>9.0f}{max(times):>9.0f}"
              f"{statistics.median(sizes):>11.0f}")
    finally:
        from nova_lite.db import session
        session.reset()
        pg.stop()


if __name__ == "__main__":
    main()
