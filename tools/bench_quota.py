#!/usr/bin/env python3
"""PostgreSQL's CPU per server for counting quotas, schema against schema.

    tools/bench_quota.py                      # 2,000 servers per round, 5 rounds
    tools/bench_quota.py --servers 5000 --rounds 7

Starts its own PostgreSQL (tests/fixtures/postgres.py) and makes three
databases of one schema at three revisions: 0010 (before quotas: no
trigger), 0011 (the first quota triggers: six usage rows per server, the
user's too, each with its limit looked up) and head (0012: one statement per
server). In each, per round, one connection makes servers as the API's
create does, one transaction each: an instance row and its port, committed
(the deferred quota triggers run at that commit), then removes them as a
delete does (the instance soft-deleted, the port deleted), under
``nova_lite.quota_driver = db`` with the project's limits finite, so every
create is checked. The rounds alternate between the schemas, so that a
shared machine's noise falls on all of them alike.

It prints, per schema, the median over rounds of the backend's CPU
microseconds (user + system, from /proc) per server created and per server
removed, and the difference from 0010: what the triggers cost. Only
PostgreSQL's CPU, measured in the one backend that does the work; the rest
of a create (the API's Python, the broker, the scheduler) is not in it.
"""
import argparse
import os
import statistics
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import psutil  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from tests.fixtures.postgres import PostgresServer  # noqa: E402

SCHEMAS = (("0010", "before quotas"), ("0011", "0011 triggers"), ("head", "0012 triggers"))
OPTIONS = ("-c nova_lite.quota_driver=db -c nova_lite.quota_instances=10 "
           "-c nova_lite.quota_cores=20 -c nova_lite.quota_ram=51200 "
           "-c nova_lite.quota_port=500")

CREATE = [
    sa.text("""
        INSERT INTO instances (uuid, name, project_id, user_id, flavor_id, flavor, vcpus,
            memory_mb, root_gb, ephemeral_gb, metadata, launch_index, config_drive,
            vm_state, power_state, locked, progress, deleted, created_at)
        VALUES (:uuid, 'bench', 'p1', 'u1', '1', '{}', 1, 512, 1, 0, '{}', 0, '',
                'building', 0, false, 0, false, now())"""),
    sa.text("""
        INSERT INTO ports (id, network_id, project_id, name, description, mac_address,
            device_id, device_owner, admin_state_up, status, port_security_enabled,
            preserve_on_delete, created_at)
        VALUES (:port, 'net1', 'p1', '', '', :mac, :uuid, 'compute:nova', true, 'DOWN',
                true, false, now())"""),
]
REMOVE = [
    sa.text("UPDATE instances SET deleted = true, deleted_at = now() WHERE uuid = :uuid"),
    sa.text("DELETE FROM ports WHERE id = :port"),
]


def prepare(pg, revision):
    from nova_lite.db import migrate
    name = f"bench_{revision}"
    pg.create_database(name)
    url = pg.url(name)
    migrate.sync(url, revision)
    engine = sa.create_engine(url, connect_args={"options": OPTIONS}, pool_size=1)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO networks (id, name, description, project_id, shared, external, "
            "is_default, bridge, mtu, admin_state_up, status, created_at) VALUES "
            "('net1', 'bench', '', 'p1', false, false, false, 'nlbench0', 1500, true, "
            "'ACTIVE', now())"))
        if revision != "0010":
            # Finite limits, high enough for every round (checked, never hit).
            conn.execute(sa.text(
                "INSERT INTO quotas (project_id, user_id, resource, hard_limit, updated_at) "
                "VALUES ('p1', '', 'instances', 1000000000, now()), "
                "('p1', '', 'cores', 1000000000, now()), ('p1', '', 'ram', 2000000000, now()), "
                "('p1', '', 'port', 1000000000, now())"))
    return engine


def backend_cpu(pid):
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def one_round(engine, servers):
    """(CPU s to create, CPU s to remove) ``servers`` servers, in the backend."""
    with engine.connect() as conn:
        pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        conn.commit()
        made = []
        before = backend_cpu(pid)
        for i in range(servers):
            params = {"uuid": str(uuid.uuid4()), "port": str(uuid.uuid4()),
                      "mac": "fa:16:3e:%02x:%02x:%02x" % (
                          (i >> 16) & 255, (i >> 8) & 255, i & 255)}
            for statement in CREATE:
                conn.execute(statement, params)
            conn.commit()
            made.append(params)
        created = backend_cpu(pid) - before
        before = backend_cpu(pid)
        for params in made:
            for statement in REMOVE:
                conn.execute(statement, params)
            conn.commit()
        removed = backend_cpu(pid) - before
        # Next round's MAC addresses are free again; the soft-deleted rows stay
        # (as on a cloud), equally in every schema.
    return created, removed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", type=int, default=2000, help="servers per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    from nova_lite import conf
    conf.parse_args([], default_config_files=[])
    pg = PostgresServer().start()
    try:
        engines = {rev: prepare(pg, rev) for rev, _ in SCHEMAS}
        for engine in engines.values():       # warm up: plans, caches
            one_round(engine, 200)
        results = {rev: [] for rev, _ in SCHEMAS}
        for r in range(args.rounds):
            for rev, _ in SCHEMAS:
                results[rev].append(one_round(engines[rev], args.servers))
            print(f"round {r + 1} of {args.rounds}: " + ", ".join(
                f"{rev} {results[rev][-1][0] * 1e6 / args.servers:.0f}/"
                f"{results[rev][-1][1] * 1e6 / args.servers:.0f} us" for rev, _ in SCHEMAS),
                flush=True)
        print(f"\nPostgreSQL backend CPU per server, median of {args.rounds} rounds of "
              f"{args.servers} (create = instance + port, one commit; remove = soft "
              "delete + port delete, one commit)")
        print(f"{'schema':<18}{'create us':>11}{'remove us':>11}{'create +us':>12}"
              f"{'remove +us':>12}")
        base = None
        for rev, label in SCHEMAS:
            create = statistics.median(c for c, _ in results[rev]) * 1e6 / args.servers
            remove = statistics.median(d for _, d in results[rev]) * 1e6 / args.servers
            if base is None:
                base = (create, remove)
            print(f"{label:<18}{create:>11.0f}{remove:>11.0f}{create - base[0]:>12.0f}"
                  f"{remove - base[1]:>12.0f}")
        for engine in engines.values():
            engine.dispose()
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
