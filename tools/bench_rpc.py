#!/usr/bin/env python3
"""Benchmark the bus: nova_lite.rpc against raw kombu, on the same broker, in one run.

    tools/bench_rpc.py                     # starts its own RabbitMQ node on a free port
    tools/bench_rpc.py --url rabbit://u:p@127.0.0.1:5672/vhost --casts 20000

Prints (and with --json writes):
  raw kombu publish, confirmed one by one          msgs/s
  raw kombu publish, confirms windowed             msgs/s
  raw kombu consume with manual ack (prefetch P)   msgs/s
  nova_lite.rpc casts (pipelined; and 32 threads each blocking), published, and
      handled by an RPCServer in another process (as services run)
  nova_lite.rpc calls (T caller threads)           calls/s, p50/p99 latency
Each figure is the median of --repeat runs.
"""
import argparse
import concurrent.futures
import json
import multiprocessing
import os
import statistics
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kombu import Consumer, Producer  # noqa: E402

from nova_lite import conf  # noqa: E402
from nova_lite.conf import CONF  # noqa: E402
from nova_lite.rpc import call as call_mod  # noqa: E402
from nova_lite.rpc import envelope as envelope_mod  # noqa: E402
from nova_lite.rpc import publisher as publisher_mod  # noqa: E402
from nova_lite.rpc import server as server_mod  # noqa: E402
from nova_lite.rpc import topology, transport  # noqa: E402

BODY = json.dumps({"version": 1, "method": "noop", "args": {"x": "y" * 200},
                   "context": {}}).encode()


def fresh_topic(kind):
    return f"bench.{kind}.{uuid.uuid4().hex[:8]}"


def purge(topic):
    with transport.connect() as conn:
        channel = conn.channel()
        for q in (topology.work_queue(topic), topology.dead_letter_queue(topic)):
            q(channel).delete()


def raw_publish_one_by_one(n):
    topic = fresh_topic("raw1")
    with transport.connect(confirm_publish=True) as conn:
        channel = conn.channel()
        topology.declare(channel, topic)
        producer = Producer(channel, exchange=topology.exchange())
        start = time.perf_counter()
        for _ in range(n):
            producer.publish(BODY, routing_key=topic, delivery_mode=2, retry=False)
        elapsed = time.perf_counter() - start
    purge(topic)
    return n / elapsed


def raw_publish_windowed(n, window, topic=None, keep=False):
    topic = topic or fresh_topic("raww")
    with transport.connect(confirm_publish=False) as conn:
        channel = conn.channel()
        topology.declare(channel, topic)
        channel.confirm_select()
        state = {"acked": 0}

        def on_ack(tag, multiple):
            state["acked"] = tag if multiple else max(state["acked"], tag)

        channel.events["basic_ack"].add(on_ack)
        producer = Producer(channel, exchange=topology.exchange())
        start = time.perf_counter()
        sent = 0
        while state["acked"] < n:
            while sent < n and sent - state["acked"] < window:
                producer.publish(BODY, routing_key=topic, delivery_mode=2, retry=False)
                sent += 1
            try:
                conn.drain_events(timeout=0.05)
            except (TimeoutError, OSError):
                pass
        elapsed = time.perf_counter() - start
    if not keep:
        purge(topic)
    return n / elapsed


def raw_consume(n, prefetch):
    topic = fresh_topic("rawc")
    raw_publish_windowed(n, 256, topic=topic, keep=True)
    done = {"count": 0}
    with transport.connect() as conn:
        channel = conn.channel()

        def on_message(message):
            message.ack()
            done["count"] += 1

        with Consumer(channel, queues=[topology.work_queue(topic)], on_message=on_message,
                      prefetch_count=prefetch):
            start = time.perf_counter()
            while done["count"] < n:
                try:
                    conn.drain_events(timeout=1)
                except (TimeoutError, OSError):
                    pass
            elapsed = time.perf_counter() - start
    purge(topic)
    return n / elapsed


def _worker(url, queue_type, prefetch, topic, expected, ready, done, span):
    """A consuming service in its own process, as in production: an RPCServer
    with a no-op handler (casts) and an echo handler (calls)."""
    conf.parse_args([], default_config_files=[])
    CONF.set_override("transport_url", url, group="rpc")
    CONF.set_override("shared_queue_type", queue_type, group="rpc")
    CONF.set_override("prefetch_count", prefetch, group="rpc")
    count = {"n": 0}
    lock = threading.Lock()

    def noop(context, x):
        with lock:
            count["n"] += 1
            if count["n"] == 1:
                span[0] = time.time()
            if count["n"] == expected:
                span[1] = time.time()
                done.set()

    srv = server_mod.RPCServer(topic, {"noop": noop, "echo": lambda context, x: x},
                               concurrency=prefetch)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    ready.set()
    done.wait(600)
    time.sleep(0.5)           # let the last acks go out
    srv.stop()
    thread.join(30)


class Worker:
    def __init__(self, topic, expected):
        ctx = multiprocessing.get_context("spawn")
        self.ready, self.done = ctx.Event(), ctx.Event()
        self.span = ctx.Array("d", [0.0, 0.0])       # first and last handled, epoch s
        self.proc = ctx.Process(target=_worker, args=(
            CONF.rpc.transport_url, CONF.rpc.shared_queue_type, CONF.rpc.prefetch_count,
            topic, expected, self.ready, self.done, self.span), daemon=True)
        self.proc.start()
        self.ready.wait(60)

    def stop(self):
        self.done.set()
        self.proc.join(60)


def rpc_casts(n, blocking_threads=0, consumer=True):
    """Casts through nova_lite.rpc; returns (published/s, handled/s).

    consumer=False: nothing consumes while they are published (as the raw
    publish figure is measured), then an RPCServer in another process drains
    them. consumer=True: that server consumes while they are published (the
    whole pipe at once, publisher, broker and consumer sharing the cores).
    Pipelined (blocking_threads=0): one thread submits every cast and waits
    for the confirms, as the outbox relay does and as casts made inside
    handlers are (the server acks after their confirms). Blocking: each of
    ``blocking_threads`` threads waits for each confirm before its next cast."""
    topic = fresh_topic("cast")
    publisher = publisher_mod.get_publisher()
    publisher_mod.cast(topic, "noop", {"x": "warm"})          # declare + connect first
    worker = Worker(topic, n + 1) if consumer else None
    start = time.perf_counter()
    if blocking_threads:
        def sender(count):
            for _ in range(count):
                publisher_mod.cast(topic, "noop", {"x": "y" * 200})

        per = n // blocking_threads
        counts = [per] * (blocking_threads - 1) + [n - per * (blocking_threads - 1)]
        with concurrent.futures.ThreadPoolExecutor(blocking_threads) as pool:
            list(pool.map(sender, counts))
    else:
        futures = [publisher.submit_envelope(topic, envelope_mod.build("noop",
                                                                       {"x": "y" * 200}))
                   for _ in range(n)]
        for future in futures:
            future.result()
    published = time.perf_counter() - start
    if worker is None:
        worker = Worker(topic, n + 1)
        worker.done.wait(600)
        handled_rate = n / (worker.span[1] - worker.span[0])
    else:
        worker.done.wait(600)
        handled_rate = n / (time.perf_counter() - start)
    worker.stop()
    purge(topic)
    return n / published, handled_rate


def rpc_calls(n, threads):
    topic = fresh_topic("call")
    worker = Worker(topic, expected=-1)
    call_mod.call(topic, "echo", {"x": 0}, timeout=30)    # warm up
    latencies = []

    def caller(count):
        for i in range(count):
            t0 = time.perf_counter()
            assert call_mod.call(topic, "echo", {"x": i}, timeout=30) == i
            latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    per = n // threads
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(caller, [per] * threads))
    elapsed = time.perf_counter() - start
    worker.stop()
    purge(topic)
    latencies.sort()
    return (per * threads) / elapsed, latencies[len(latencies) // 2], \
        latencies[int(len(latencies) * 0.99)]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="transport URL; default: start a private RabbitMQ")
    parser.add_argument("--casts", type=int, default=20000)
    parser.add_argument("--one-by-one", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--call-threads", type=int, default=16)
    parser.add_argument("--window", type=int, default=256)
    parser.add_argument("--prefetch", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--queue-type", default="quorum", choices=["quorum", "classic"])
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    conf.parse_args([], default_config_files=[])
    broker = None
    url = args.url
    if url is None:
        from tests.fixtures.rabbitmq import RabbitServer
        broker = RabbitServer().start()
        url = broker.url
    CONF.set_override("transport_url", url, group="rpc")
    CONF.set_override("shared_queue_type", args.queue_type, group="rpc")
    CONF.set_override("publish_window", args.window, group="rpc")
    CONF.set_override("prefetch_count", args.prefetch, group="rpc")
    CONF.set_override("publish_timeout", 60.0, group="rpc")
    try:
        runs = {k: [] for k in ("raw_one_by_one", "raw_windowed", "raw_consume",
                                "rpc_cast_publish", "rpc_cast_handled",
                                "rpc_cast_blocking", "rpc_consume", "rpc_call", "call_p50_ms",
                                "call_p99_ms")}
        for i in range(args.repeat):
            print(f"run {i + 1}/{args.repeat} ...", file=sys.stderr, flush=True)
            runs["raw_one_by_one"].append(raw_publish_one_by_one(args.one_by_one))
            runs["raw_windowed"].append(raw_publish_windowed(args.casts, args.window))
            runs["raw_consume"].append(raw_consume(args.casts, args.prefetch))
            published, drained = rpc_casts(args.casts, consumer=False)
            runs["rpc_cast_publish"].append(published)
            runs["rpc_consume"].append(drained)
            runs["rpc_cast_handled"].append(rpc_casts(args.casts)[1])
            runs["rpc_cast_blocking"].append(rpc_casts(args.casts // 2, 32,
                                                       consumer=False)[0])
            rate, p50, p99 = rpc_calls(args.calls, args.call_threads)
            runs["rpc_call"].append(rate)
            runs["call_p50_ms"].append(p50 * 1000)
            runs["call_p99_ms"].append(p99 * 1000)
        med = {k: statistics.median(v) for k, v in runs.items()}
        result = {
            "broker": "private single node" if broker else url.split("@")[-1],
            "queue_type": args.queue_type, "window": args.window,
            "prefetch": args.prefetch, "casts": args.casts, "repeat": args.repeat,
            "median": med,
            "ratio_rpc_cast_publish_to_raw_windowed":
                med["rpc_cast_publish"] / med["raw_windowed"],
            "ratio_rpc_consume_to_raw_consume": med["rpc_consume"] / med["raw_consume"],
        }
        print(f"\nbus benchmark ({result['broker']}, {args.queue_type} queues, "
              f"median of {args.repeat})")
        rows = [
            ("raw kombu publish, confirmed one by one", med["raw_one_by_one"], "msgs/s"),
            (f"raw kombu publish, {args.window} confirms in flight", med["raw_windowed"],
             "msgs/s"),
            (f"raw kombu consume + ack, prefetch {args.prefetch}", med["raw_consume"],
             "msgs/s"),
            ("nova_lite.rpc casts published, pipelined", med["rpc_cast_publish"], "msgs/s"),
            ("nova_lite.rpc casts, 32 threads each blocking", med["rpc_cast_blocking"],
             "msgs/s"),
            ("nova_lite.rpc server (own process) draining them", med["rpc_consume"],
             "msgs/s"),
            ("nova_lite.rpc publish + handle at the same time", med["rpc_cast_handled"],
             "msgs/s"),
            (f"nova_lite.rpc calls ({args.call_threads} threads)", med["rpc_call"],
             "calls/s"),
        ]
        for label, value, unit in rows:
            print(f"  {label:<48} {value:>10,.0f} {unit}")
        print(f"  {'call latency p50 / p99':<48} {med['call_p50_ms']:>7.1f} / "
              f"{med['call_p99_ms']:.1f} ms")
        print(f"  ratio rpc casts / raw windowed publish: "
              f"{result['ratio_rpc_cast_publish_to_raw_windowed']:.2f}")
        print(f"  ratio rpc server drain / raw consume:    "
              f"{result['ratio_rpc_consume_to_raw_consume']:.2f}")
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=2)
    finally:
        publisher_mod.reset_publisher()
        if broker:
            broker.stop()


if __name__ == "__main__":
    main()
