"""The concurrency sweep (``tools/flood.py --sweep 100,300,1000,3000,10000``):
in one flood session against one cloud, a closed-loop create phase at each
client count in turn, each step's servers settled (ACTIVE or ERROR), the
accounting checked, then deleted (unless --no-delete) before the next step.

A step is ``CLIENTS`` (creating --servers servers) or ``CLIENTS:SERVERS``.
With fewer requests than clients only as many clients as requests have
anything to send: the step's ``concurrency`` says how many did.

With ``batch`` (--batch N) each request creates N servers: a step's counts
and rates are in servers (``sent``, ``accepted``, ``accept_rate``, its peak,
CPU and transactions per server), ``requests`` its requests, its latencies
and ``errors`` / ``timeouts`` per request."""
from flood_stats import events_peak, latency_ms, percentile, r3


def parse_steps(text, servers):
    """"100,300:2000" -> [(100, servers), (300, 2000)]."""
    steps = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        clients, _, count = part.partition(":")
        steps.append((int(clients), int(count) if count else servers))
    if not steps or any(c < 1 or n < 1 for c, n in steps):
        raise ValueError(f"bad sweep {text!r}: CLIENTS[:SERVERS],...")
    return steps


async def sweep(f, steps, timeout, delete=True, batch=1):
    """Run ``steps`` [(clients, servers)] in flood session ``f``
    (flood_run.Flood), ``batch`` servers a create request; returns one dict
    per step."""
    out = []
    rec = f.rec
    for i, (clients, count) in enumerate(steps):
        tag = f"s{i}"
        first, errors_before = len(rec.creates), dict(rec.errors)
        f.phase["name"] = f"create@{clients}"
        created = await f.create(count, clients, tag=tag, batch=batch)
        f.phase["name"] = f"settle@{clients}"
        final = await f.settle(created, timeout, tag)
        builds, _ = f.builds(tag)
        accounting = f.accounting()
        step = step_stats(rec.creates[first:], created, clients, count,
                          min(clients, f.connections), final, builds)
        step["error_kinds"] = {k: v - errors_before.get(k, 0) for k, v in rec.errors.items()
                               if v != errors_before.get(k, 0)}
        step["accounting_exact"] = all(not v for v in accounting.values())
        step["network"] = f.network_counts(tag)
        if delete:
            f.phase["name"] = f"delete@{clients}"
            deleted = await f.delete(created["ids"], min(clients, f.connections), timeout,
                                     tag)
            seconds = deleted["end"] - deleted["start"]
            step["delete"] = {"sent": deleted["count"], "seconds": round(seconds, 2),
                              "rate": round(deleted["count"] / max(seconds, 1e-6), 1),
                              "left": deleted["left"]}
        out.append(step)
    return out


def step_stats(creates, created, clients, count, connections, final, builds):
    """One step's figures from its create requests [(t_sent, latency,
    status, servers)]."""
    seconds = created["end"] - created["start"]
    ok = [(sent, lat, n) for sent, lat, status, n in creates if status == 202]
    accepted = created["accepted"]
    timeouts = sum(1 for _, _, status, _ in creates if status == "timeout")
    return {
        "clients": clients, "servers": count, "batch": created.get("batch", 1),
        "concurrency": min(clients, len(creates)),
        "connections": connections, "sent": sum(n for *_, n in creates),
        "accepted": accepted, "requests": len(creates),
        "seconds": round(seconds, 2),
        "accept_rate": round(accepted / max(seconds, 1e-6), 1),
        # each server of a request accepted when its answer came
        "accept_rate_peak_5s": events_peak([sent + lat for sent, lat, n in ok
                                            for _ in range(n)], span=seconds),
        "latency_ms": latency_ms([lat for _, lat, _ in ok]),
        "errors": len(creates) - len(ok) - timeouts,
        "timeouts": timeouts,
        "active": final["active"], "error": final["error"],
        "still_building": final["building"] + final["other"],
        "create_to_active_s": {"p50": r3(percentile(builds, 50)),
                               "p99": r3(percentile(builds, 99))},
        "client_cpu_ms_per_server": round(1000 * created["cpu_s"] / max(accepted, 1), 2),
        "db_write_transactions_per_server": per_server(
            created.get("db_write_transactions_to_settled"), accepted),
    }


def per_server(total, accepted):
    return None if total is None or not accepted else round(total / accepted, 1)
