#!/usr/bin/env python3
"""List and delete every live server of a project in a running cloud, timed:
what a flood that was cut short (or run with --no-delete) left behind.

    tools/flood_cleanup.py --url http://127.0.0.1:8774 \\
        --db postgresql+psycopg2://nova_lite@127.0.0.1/nova_lite --clients 10000

First ``--list-samples`` GET /servers/detail?limit=1000 (with every server
still there), then one DELETE per live server of the project from
``--clients`` closed-loop clients (tools/flood_http.py: the flood's own
requests, token renewal and FIFO turns on ``--connections``), then a wait
until the database shows none left. Prints, and writes to ``--json``: live
servers at the start, the listing's p50/p99, the delete rate as the API
answered and to gone, delete latency p50/p99, errors, and what is left."""
import argparse
import asyncio
import json
import os
import sys
import time

TOOLS = os.path.dirname(os.path.abspath(__file__))
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)

from sqlalchemy import create_engine, text  # noqa: E402

import flood_http  # noqa: E402
from flood_stats import latency_ms  # noqa: E402

LIVE = "SELECT {what} FROM instances WHERE project_id = :p AND NOT deleted"


async def cleanup(url, db_url, user, password, project, clients, connections,
                  list_samples, timeout, log=print):
    auth = flood_http.Auth(url, user, password, project)
    engine = create_engine(db_url, pool_size=2)
    http = flood_http.session(url, auth, connections, 300.0)
    rec = flood_http.Recorder()
    try:
        with engine.connect() as conn:
            ids = [r[0] for r in conn.execute(text(LIVE.format(what="uuid")),
                                              {"p": auth.project_id})]
        log(f"{len(ids)} live servers in project {project}; listing")
        listing = await flood_http.list_latency(http, list_samples)
        log(f"GET /servers/detail?limit=1000: {listing['latency_ms']}; deleting")

        async def job(n):
            await flood_http.delete(http, rec, ids[n])
        start = time.monotonic()
        await flood_http.closed_loop(len(ids), clients, job)
        sent = time.monotonic()
        left = None
        while time.monotonic() < sent + timeout:
            with engine.connect() as conn:
                left = conn.execute(text(LIVE.format(what="count(*)")),
                                    {"p": auth.project_id}).scalar()
            if left == 0:
                break
            await asyncio.sleep(1.0)
        end = time.monotonic()
    finally:
        await http.close()
        engine.dispose()
    latencies = [lat for _, lat, status in rec.deletes if status in (204, 404)]
    return {"live_at_start": len(ids), "clients": clients, "connections": connections,
            "list_detail_limit_1000": listing,
            "delete": {"sent": len(ids), "api_seconds": round(sent - start, 1),
                       "api_rate": round(len(ids) / max(sent - start, 1e-9), 1),
                       "seconds_to_gone": round(end - start, 1),
                       "rate_to_gone": round(len(ids) / max(end - start, 1e-9), 1),
                       "latency_ms": latency_ms(latencies), "left": left},
            "errors": rec.errors, "retries": rec.retries,
            "token_renewals": auth.renewals}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--db", required=True, help="SQLAlchemy URL of its database")
    parser.add_argument("--user", default="demo")
    parser.add_argument("--password", default=os.environ.get("OS_PASSWORD", "demo-secret"))
    parser.add_argument("--project", default="demo")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--list-samples", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="seconds to wait, after the last DELETE, for none to be left")
    parser.add_argument("--json", default="flood-cleanup.json")
    args = parser.parse_args(argv)
    flood_http.raise_nofile(args.connections)
    report = asyncio.run(cleanup(args.url, args.db, args.user, args.password, args.project,
                                 args.clients, args.connections, args.list_samples,
                                 args.timeout))
    print(json.dumps(report, indent=1))
    with open(args.json, "w") as f:
        json.dump(report, f, indent=1)
    return 0 if report["delete"]["left"] == 0 and not report["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
