"""What the cloud's own PostgreSQL and RabbitMQ can do alone, measured in the
flood's run (``tools/flood.py --baseline``), so its figures can be read
against them:

- PostgreSQL: committed transactions per second, each one small INSERT into a
  scratch table (uniquely named, in the cloud's database, dropped at the
  end; not TEMP: a temporary table writes no WAL, so its commits would skip
  the WAL flush every real transaction pays), from 1 connection and from 8
  (one thread each), ``seconds`` each.
- RabbitMQ: persistent messages per second published with publisher
  confirms (``window`` unconfirmed at most) to a scratch durable queue of the
  type the cloud uses for its shared queues (nova_lite/rpc/topology.py:
  ``[rpc] shared_queue_type``, quorum by default), then consumed with
  ``prefetch`` and a manual ack each, ``seconds`` each; the queue is deleted
  at the end.

Raw psycopg2 and py-amqp calls: the least client work per operation, so the
figures are the servers' and not this client's."""
import collections
import contextlib
import os
import threading
import time
import uuid

BODY = b'{"payload": "' + b"x" * 280 + b'"}'     # about an RPC envelope's size


# -- PostgreSQL ---------------------------------------------------------------------------
def postgres_commits(db_url, seconds=5.0, connection_counts=(1, 8)):
    """{"commits_per_s": {"1": r, "8": r}, "settings": {...}, ...}."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool
    engine = create_engine(db_url, poolclass=NullPool)
    table = f"flood_baseline_{uuid.uuid4().hex[:10]}"
    admin = engine.raw_connection()
    try:
        cur = admin.cursor()
        settings = {}
        for name in ("fsync", "synchronous_commit", "wal_level", "server_version"):
            cur.execute(f"SHOW {name}")
            settings[name] = cur.fetchone()[0]
        cur.execute(f"CREATE TABLE {table} (id bigserial PRIMARY KEY, worker int NOT NULL, "
                    "n int NOT NULL, at timestamptz NOT NULL DEFAULT now(), note text)")
        admin.commit()
        out = {"table": table, "seconds": seconds, "settings": settings,
               "transaction": "INSERT INTO <scratch> (worker, n, note) VALUES (...); COMMIT",
               "commits_per_s": {}, "commits": {}}
        out["client_cpu_s"] = {}
        for count in connection_counts:
            cpu = time.process_time()
            done, elapsed = _commit_threads(engine, table, count, seconds)
            out["commits"][str(count)] = done
            out["commits_per_s"][str(count)] = round(done / elapsed, 1)
            out["client_cpu_s"][str(count)] = round(time.process_time() - cpu, 2)
        return out
    finally:
        with contextlib.suppress(Exception):
            admin.rollback()
            cur = admin.cursor()
            cur.execute(f"DROP TABLE IF EXISTS {table}")
            admin.commit()
        admin.close()
        engine.dispose()


def _commit_threads(engine, table, count, seconds):
    conns = [engine.raw_connection() for _ in range(count)]
    totals = [0] * count
    start = threading.Barrier(count + 1)
    state = {}

    def worker(i):
        conn = conns[i]
        cur = conn.cursor()
        sql = f"INSERT INTO {table} (worker, n, note) VALUES (%s, %s, 'flood baseline')"
        start.wait()
        deadline = state["deadline"]
        n = 0
        while time.monotonic() < deadline:
            cur.execute(sql, (i, n))
            conn.commit()
            n += 1
        totals[i] = n

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    began = time.monotonic()
    state["deadline"] = began + seconds
    start.wait()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    for conn in conns:
        conn.close()
    return sum(totals), elapsed


# -- RabbitMQ -----------------------------------------------------------------------------
def rabbit_publish_consume(amqp_url, queue_type="quorum", seconds=5.0, window=100,
                           prefetch=100, delivery_limit=5):
    """Confirmed persistent publishes/s into a scratch queue, then consumes/s
    (manual acks) out of it."""
    import amqp
    from kombu import Connection
    name = f"flood.baseline.{uuid.uuid4().hex[:10]}"
    arguments = {"x-queue-type": queue_type}
    if queue_type == "quorum":
        arguments["x-delivery-limit"] = delivery_limit
    conn = Connection(amqp_url, connect_timeout=5, heartbeat=0,
                      transport_options={"confirm_publish": False})
    try:
        conn.connect()
        channel = conn.channel()
        channel.queue_declare(name, durable=True, auto_delete=False, arguments=arguments)
        cpu = time.process_time()
        published = _publish(conn, channel, name, seconds, window, amqp.Message)
        publish_cpu, cpu = time.process_time() - cpu, time.process_time()
        channel.close()
        channel = conn.channel()
        consumed = _consume(conn, channel, name, seconds, prefetch, published["confirmed"])
        consume_cpu = time.process_time() - cpu
        return {"queue_type": queue_type, "queue": name, "message_bytes": len(BODY),
                "seconds": seconds, "window": window, "prefetch": prefetch,
                "publish_confirmed_per_s": published["rate"],
                "published": published["confirmed"], "nacked": published["nacked"],
                "consume_ack_per_s": consumed["rate"], "consumed": consumed["count"],
                # This (pure Python) client's CPU: near the phase's length means
                # the client, not the broker, set the pace.
                "client_cpu_s": {"publish": round(publish_cpu, 2),
                                 "consume": round(consume_cpu, 2)}}
    finally:
        with contextlib.suppress(Exception):
            conn.channel().queue_delete(name)
        conn.release()


def _publish(conn, channel, name, seconds, window, message_class):
    channel.confirm_select()
    pending = collections.deque()          # delivery tags not yet confirmed
    state = {"confirmed": 0, "nacked": 0, "last": 0}

    def settle(tag, multiple, key):
        if multiple:
            while pending and pending[0] <= tag:
                pending.popleft()
                state[key] += 1
        elif tag in pending:
            pending.remove(tag)
            state[key] += 1
        state["last"] = time.monotonic()

    channel.events["basic_ack"].add(lambda tag, multiple: settle(tag, multiple, "confirmed"))
    channel.events["basic_nack"].add(lambda tag, multiple: settle(tag, multiple, "nacked"))
    message = message_class(BODY, delivery_mode=2, content_type="application/json")
    tag = 0
    start = time.monotonic()
    deadline = start + seconds
    while time.monotonic() < deadline:
        while len(pending) < window:
            channel.basic_publish(message, exchange="", routing_key=name)
            tag += 1
            pending.append(tag)
        with contextlib.suppress(TimeoutError, OSError):
            conn.drain_events(timeout=0.05)
    wait_until = time.monotonic() + 60
    while pending and time.monotonic() < wait_until:
        with contextlib.suppress(TimeoutError, OSError):
            conn.drain_events(timeout=0.5)
    elapsed = max(state["last"] - start, 1e-6)
    return {"confirmed": state["confirmed"], "nacked": state["nacked"],
            "rate": round(state["confirmed"] / elapsed, 1)}


def _consume(conn, channel, name, seconds, prefetch, available):
    channel.basic_qos(0, prefetch, False)
    state = {"count": 0}

    def on_message(message):
        channel.basic_ack(message.delivery_tag)
        state["count"] += 1

    tag = channel.basic_consume(name, callback=on_message, no_ack=False)
    start = time.monotonic()
    deadline = start + seconds
    while state["count"] < available and time.monotonic() < deadline:
        with contextlib.suppress(TimeoutError, OSError):
            conn.drain_events(timeout=0.2)
    elapsed = time.monotonic() - start
    channel.basic_cancel(tag)
    return {"count": state["count"], "rate": round(state["count"] / max(elapsed, 1e-6), 1)}


# -- both ---------------------------------------------------------------------------------
def measure(db_url, amqp_url, queue_type="quorum", seconds=5.0, log=print):
    """Both baselines: {"postgres": ..., "rabbitmq": ...} (a part that failed
    holds {"error": ...})."""
    out = {"load_average_at_start": [round(x, 1) for x in os.getloadavg()]}
    log(f"baseline: PostgreSQL commits, 1 and 8 connections, {seconds:g} s each")
    try:
        out["postgres"] = postgres_commits(db_url, seconds)
    except Exception as exc:  # noqa: BLE001 - reported, the flood goes on
        out["postgres"] = {"error": f"{type(exc).__name__}: {exc}"}
    if amqp_url:
        log(f"baseline: RabbitMQ {queue_type} queue, confirmed publishes then consumes, "
            f"{seconds:g} s each")
        try:
            out["rabbitmq"] = rabbit_publish_consume(amqp_url, queue_type, seconds)
        except Exception as exc:  # noqa: BLE001
            out["rabbitmq"] = {"error": f"{type(exc).__name__}: {exc}"}
    out["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
    return out
