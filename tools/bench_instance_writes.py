#!/usr/bin/env python3
"""What the server list's indexes (migration 0016) cost each write of an
instance: the schema before them (0011) and after (head), each in a database
of its own on one PostgreSQL this starts, 200,000 servers, then 5,000
single-row state transitions (as nova_lite.db.instances.transition writes
them), 5,000 back, and 5,000 rows inserted 5 a statement; wall us and WAL
bytes per row, and the table's size with its indexes. WAL bytes are the
steady figure; wall times move with the machine's load.

    tools/bench_instance_writes.py
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import sqlalchemy as sa  # noqa: E402

from nova_lite.db import migrate  # noqa: E402
from tests.fixtures.postgres import PostgresServer  # noqa: E402

ROWS, N = 200_000, 5000
FILL = """INSERT INTO instances (uuid, name, project_id, user_id, flavor_id, flavor, vcpus, memory_mb,
  root_gb, ephemeral_gb, vm_state, task_state, power_state, key_name, availability_zone, host, node,
  image_ref, metadata, launch_index, config_drive, locked, progress, deleted, task_nudges, created_at,
  updated_at, launched_at)
  SELECT gen_random_uuid()::text, 'vm-' || i, 'p-' || (i % 1000), 'u-' || (i % 10000), '1', '{}', 1, 512,
  1, 0, 'active', NULL, 1, 'key-' || (i % 5000), 'az-1', 'host-' || (i % 10000), 'host-' || (i % 10000),
  md5((i % 500)::text), '{}', 0, '', false, 0, false, 0, now(), now(), now()
  FROM generate_series(:a, :b) i"""
pg = PostgresServer().start()
try:
    out = {}
    for rev in ("0011", "head"):
        name = f"w{rev}"
        pg.create_database(name)
        url = pg.url(name)
        migrate.sync(url, rev)
        e = sa.create_engine(url)
        with e.begin() as c:
            c.exec_driver_sql("SET session_replication_role = replica")
            c.execute(sa.text(FILL), {"a": 1, "b": ROWS})
        with e.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE instances")
        with e.connect() as c:
            uuids = c.execute(sa.text("SELECT uuid FROM instances ORDER BY random() LIMIT :n"), {"n": N}).scalars().all()
        res = {}
        for label, sql in (("transition", "UPDATE instances SET task_state = 'rebooting', updated_at = now(), task_updated_at = now() WHERE uuid = :u AND NOT deleted"),
                           ("back", "UPDATE instances SET task_state = NULL, vm_state='active', power_state = 1, updated_at = now() WHERE uuid = :u AND NOT deleted")):
            with e.connect() as c:
                c.exec_driver_sql("SET session_replication_role = replica")
                lsn0 = c.execute(sa.text("SELECT pg_current_wal_lsn()")).scalar(); c.commit()
                t = time.perf_counter()
                for u in uuids:
                    c.execute(sa.text(sql), {"u": u}); c.commit()
                res[label] = (time.perf_counter() - t) * 1e6 / N
                res[label + " WAL B"] = c.execute(sa.text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), :l)"), {"l": lsn0}).scalar() / N
        with e.connect() as c:
            c.exec_driver_sql("SET session_replication_role = replica")
            lsn0 = c.execute(sa.text("SELECT pg_current_wal_lsn()")).scalar(); c.commit()
            t = time.perf_counter()
            for i in range(N // 5):
                c.execute(sa.text(FILL), {"a": ROWS + 1 + i * 5, "b": ROWS + 5 + i * 5}); c.commit()
            res["insert"] = (time.perf_counter() - t) * 1e6 / N
            res["insert WAL B"] = c.execute(sa.text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), :l)"), {"l": lsn0}).scalar() / N
        with e.connect() as c:
            res["hot%"] = c.execute(sa.text("SELECT round(100.0 * n_tup_hot_upd / greatest(n_tup_upd,1)) FROM pg_stat_user_tables WHERE relname='instances'")).scalar()
            res["size MB"] = c.execute(sa.text("SELECT pg_total_relation_size('instances') / 1048576")).scalar()
        out[rev] = res
        e.dispose()
        print(rev, {k: (round(v, 1) if isinstance(v, float) else v) for k, v in res.items()}, flush=True)
finally:
    pg.stop()
