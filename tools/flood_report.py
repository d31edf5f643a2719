"""The flood's results: the report (a dict, written as JSON), the table
printed at the end, the plots, the progress display, and the sweep's and the
baselines' tables."""
import json
import os
import time

from flood_stats import latency_ms, ms, percentile, r3, rate_peak


def build_report(f, servers, clients, rate, created, final, builds, last_active,
                 accounting_loaded, listing=None, deleted=None, accounting_final=None,
                 leftover_allocations=None):
    """The report of one flood session ``f`` (flood_run.Flood): ``created``
    and ``deleted`` are what its create and delete phases returned."""
    rec, samples = f.rec, f.rec.samples
    create_s = created["end"] - created["start"]
    # A create's latency is its request's (of ``batch`` servers, the last
    # request of fewer); every count and rate below but "requests*" is in servers.
    latencies = [lat for _, lat, status, _ in rec.creates if status == 202]
    accepted = created["accepted"]
    batch = created.get("batch", 1)
    accounting_final = accounting_final if accounting_final is not None else {}
    report = {
        "conditions": {"servers": servers, "clients": clients, "batch": batch,
                       "connections": f.connections,
                       "open_loop_rate": rate, "hosts": f.target.hosts,
                       "request_timeout_s": f.request_timeout,
                       "cpus": os.cpu_count(), "url": f.target.url,
                       "open_files_limit": list(f.nofile),
                       "load_average_at_start": rec.load_at_start},
        "create": {
            "sent": sum(n for *_, n in rec.creates), "accepted": accepted,
            "requests": len(rec.creates), "requests_accepted": len(latencies),
            "servers_per_request": batch,
            "seconds": round(create_s, 2),
            "accept_rate": round(accepted / max(create_s, 1e-6), 1),
            "accept_rate_peak_5s": rate_peak(samples, "accepted"),
            "request_rate": round(len(latencies) / max(create_s, 1e-6), 1),
            "latency_ms": latency_ms(latencies),       # per request
            # From the first create to the last server settled: the write
            # transactions of the whole cloud (heartbeats too) per server.
            "db_write_transactions": created.get("db_write_transactions_to_settled"),
            "db_write_transactions_per_server": per(
                created.get("db_write_transactions_to_settled"), accepted),
        },
        "build": {
            "active": final["active"], "error": final["error"],
            "still_building": final["building"] + final["other"],
            "seconds_to_last_active": round(float(last_active or 0), 2),
            "active_rate": round(final["active"] / last_active, 1) if last_active else None,
            "active_rate_peak_5s": rate_peak(samples, "active"),
            "create_to_active_s": {"p50": r3(percentile(builds, 50)),
                                   "p95": r3(percentile(builds, 95)),
                                   "p99": r3(percentile(builds, 99))},
        },
        "client": client_cpu(created, deleted),
        "errors": rec.errors,
        "retries": rec.retries,
        "accounting_when_loaded": accounting_loaded,
        "accounting_after": accounting_final,
        "processes": f.procs.summary(time.monotonic() - created["start"]),
        "memory_growth": memory_growth(samples, servers),
        "create_latency_over_time": latency_buckets(rec.creates),
        "samples": samples,
    }
    if listing is not None:
        report["list_detail_limit_1000"] = listing
    if deleted is not None:
        delete_s = deleted["end"] - deleted["start"]
        dlat = [lat for _, lat, status in rec.deletes if status in (204, 404)]
        report["delete"] = {
            "sent": len(rec.deletes), "seconds": round(delete_s, 2),
            "rate": round(len(rec.deletes) / max(delete_s, 1e-6), 1),
            "api_rate": round(len(rec.deletes) / max(deleted["sent"] - deleted["start"],
                                                     1e-6), 1),
            "latency_ms": {"p50": ms(percentile(dlat, 50)), "p99": ms(percentile(dlat, 99))},
            "left": deleted["left"],
            "left_allocations": leftover_allocations,
        }
    report["conditions"]["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
    report["exact"] = all(not v for v in accounting_loaded.values()) and all(
        not v for v in accounting_final.values())
    report["queue_depth_max"] = {k: max((s["queues"].get(k, 0) for s in samples), default=0)
                                 for k in ("conductor", "scheduler", "compute")}
    return report


def network_report(f):
    """The servers on the network once settled (flood_run.Flood.network_counts),
    whether each has its port, address and group ("complete"), and the
    subnet's addresses in use before the run; None without a network."""
    counts = f.network_counts()
    if counts is None:
        return None
    counts["complete"] = (counts["with_port"] == counts["with_address"]
                          == counts["in_default_group"] == counts["servers"])
    counts["subnet_used_at_start"] = f.subnet_used_at_start
    return counts


def with_network(report, network):
    report["network"] = network
    report["conditions"]["network"] = network["cidr"] if network else None
    return report


def memory_growth(samples, servers):
    """Each process's RSS when a tenth of the servers were ACTIVE and when the
    most were: flat memory means the second is not much above the first."""
    if not samples or not servers:
        return {}
    tenth = next((x for x in samples if x.get("active", 0) >= servers / 10), None)
    fullest = max(samples, key=lambda x: x.get("active", 0))
    if tenth is None or not fullest.get("active"):
        return {}
    return {name: {"rss_mb_at_10pct": tenth["rss_mb"].get(name),
                   "rss_mb_at_most": fullest["rss_mb"].get(name),
                   "servers_at_most": fullest["active"]}
            for name in fullest.get("rss_mb", {})}


def per(total, count):
    return None if total is None or not count else round(total / count, 1)


def client_cpu(created, deleted=None):
    """This process's CPU (every thread: clients, monitor, progress display)
    while it created, and deleted: seconds, and ms per server (and per create
    request; a delete request is one server's)."""
    out = {"create_cpu_s": round(created["cpu_s"], 2),
           "create_cpu_ms_per_server": round(1000 * created["cpu_s"]
                                             / max(created["accepted"], 1), 2),
           "create_cpu_ms_per_request": round(1000 * created["cpu_s"]
                                              / max(created["requests"], 1), 2)}
    if deleted is not None:
        out.update({"delete_cpu_s": round(deleted["cpu_s"], 2),
                    "delete_cpu_ms_per_server": round(1000 * deleted["cpu_s"]
                                                      / max(deleted["count"], 1), 2)})
    return out


def latency_buckets(creates, width=1.0):
    """[[second, servers accepted, request p50 ms, request p99 ms]] of the
    create requests sent in each second."""
    buckets = {}
    for sent, lat, status, servers in creates:
        if status == 202:
            buckets.setdefault(int(sent / width), []).append((lat, servers))
    out = []
    for k, v in sorted(buckets.items()):
        lat = [x for x, _ in v]
        out.append([k * width, sum(n for _, n in v), ms(percentile(lat, 50)),
                    ms(percentile(lat, 99))])
    return out


# -- output -----------------------------------------------------------------------------------
def print_summary(report, console=None):
    from rich.console import Console
    from rich.table import Table
    console = console or Console()
    c, b = report["create"], report["build"]
    batch = report["conditions"].get("batch", 1)
    table = Table("measure", "value", title="nova-lite flood")
    if batch > 1:
        rows = [("servers / clients / batch", f"{report['conditions']['servers']} / "
                                              f"{report['conditions']['clients']} / {batch}"),
                ("accepted (servers)", f"{c['accepted']} of {c['sent']} in {c['seconds']} s "
                                       f"({c['requests_accepted']} of {c['requests']} "
                                       f"requests)"),
                ("API accept rate", f"{c['accept_rate']} servers/s (peak 5 s: "
                                    f"{c['accept_rate_peak_5s']}/s; {c['request_rate']} "
                                    "requests/s)")]
    else:
        rows = [("servers / clients", f"{report['conditions']['servers']} / "
                                      f"{report['conditions']['clients']}"),
                ("accepted", f"{c['accepted']} of {c['sent']} in {c['seconds']} s"),
                ("API accept rate", f"{c['accept_rate']}/s (peak 5 s: "
                                    f"{c['accept_rate_peak_5s']}/s)")]
    rows += [
        ("create request latency p50/p95/p99" if batch > 1 else "create latency p50/p95/p99",
         f"{c['latency_ms']['p50']} / {c['latency_ms']['p95']} / {c['latency_ms']['p99']} ms"),
        ("ACTIVE / ERROR / building", f"{b['active']} / {b['error']} / {b['still_building']}"),
        ("end-to-end ACTIVE rate", f"{b['active_rate']}/s (peak 5 s: "
                                   f"{b['active_rate_peak_5s']}/s)"),
        ("create->ACTIVE p50/p95/p99", f"{b['create_to_active_s']['p50']} / "
                                       f"{b['create_to_active_s']['p95']} / "
                                       f"{b['create_to_active_s']['p99']} s"),
    ]
    cl = report.get("client") or {}
    if cl:
        per_create = f"{cl['create_cpu_ms_per_server']} ms per " + (
            f"server created ({cl.get('create_cpu_ms_per_request')} ms per request)"
            if batch > 1 else "create")
        rows.append(("flood client CPU", per_create
                     + (f", {cl['delete_cpu_ms_per_server']} ms per delete"
                        if "delete_cpu_ms_per_server" in cl else "")))
    if report.get("list_detail_limit_1000"):
        lst = report["list_detail_limit_1000"]
        rows.append(("GET /servers/detail?limit=1000", f"p50 {lst['latency_ms']['p50']} ms, "
                     f"p99 {lst['latency_ms']['p99']} ms ({lst['servers_per_page']} a page, "
                     f"{lst['failures']} failed)"))
    if "delete" in report:
        d = report["delete"]
        rows.append(("delete rate", f"{d['rate']}/s to gone ({d['api_rate']}/s API); "
                                    f"left {d['left']}, allocations left "
                                    f"{d['left_allocations']}"))
    net = report.get("network")
    if net:
        rows.append(("on the network " + net["cidr"],
                     f"{net['with_port']} with a port, {net['with_address']} an address, "
                     f"{net['in_default_group']} in 'default', of {net['servers']} servers"
                     + (f"; subnet addresses in use {net['subnet_used_at_start']} before, "
                        f"{net['subnet_used_after_delete']} after the deletes"
                        if "subnet_used_after_delete" in net else "")))
    elif "network" in report:
        rows.append(("network", "none (--no-network)"))
    rows.append(("errors", json.dumps(report["errors"]) if report["errors"] else "none"))
    if report.get("retries"):
        rows.append(("retried (connection reset)", json.dumps(report["retries"])))
    rows.append(("max queue depth", json.dumps(report["queue_depth_max"])))
    rows.append(("accounting exact", "yes" if report["exact"] else "NO"))
    for row in rows:
        table.add_row(*row)
    console.print(table)
    procs = Table("process", "CPU s", "avg cores", "peak memory MiB",
                  "memory MiB at 10% / all ACTIVE",
                  title="service processes (memory: PSS of the process tree)")
    growth = report.get("memory_growth") or {}
    for name, p in sorted(report["processes"].items()):
        g = growth.get(name) or {}
        procs.add_row(name, str(p["cpu_seconds"]), str(p["avg_cores"]), str(p["peak_rss_mb"]),
                      f"{g.get('rss_mb_at_10pct')} / {g.get('rss_mb_at_most')}" if g else "")
    console.print(procs)
    if not report["exact"]:
        console.print({k: v for k, v in {**report["accounting_when_loaded"],
                                         **report["accounting_after"]}.items() if v})


CPU_WINDOW = 10.0
RATE_WINDOW = 5.0


def rate_series(samples, key, clock, window=0.0):
    """(times, per-second rates) of a counter: between the samples where it
    was read anew (``clock`` changed) and at least ``window`` s apart, over
    the real time between the reads, so counts repeated between reads make
    neither zeros nor spikes, and a sample taken soon after a slow one (the
    monitor waits at least 0.05 s) no burst. Reports written before samples
    had a read clock: between the samples where the count changed."""
    if clock in samples[0]:
        def when(s):
            return s[clock]

        def fresh(a, b):
            return b[clock] != a[clock]
    else:
        def when(s):
            return s["t"]

        def fresh(a, b):
            return b[key] != a[key]
    points = [samples[0]]
    for s in samples[1:]:
        if fresh(points[-1], s) and when(s) - when(points[-1]) >= window:
            points.append(s)
    if points[-1] is not samples[-1] and when(samples[-1]) != when(points[-1]):
        points.append(samples[-1])
    times, rates = [when(points[0])], [0.0]
    for a, b in zip(points, points[1:]):
        times.append(when(b))
        rates.append(max(0.0, (b[key] - a[key]) / max(when(b) - when(a), 1e-6)))
    return times, rates


def mean_cores(samples, name, window):
    """Each sample's cores for ``name`` averaged over the last ``window`` s:
    a process tree's CPU lands late when a child is reaped late (PostgreSQL's
    backends), as a spike in one short sample; the mean spreads it."""
    out, span = [], []          # span: (dt, cores) of the samples in the window
    for a, b in zip([None] + samples, samples):
        dt = b["t"] - a["t"] if a else 0.0
        span.append((dt, b["cpu"].get(name, 0)))
        while len(span) > 1 and sum(d for d, _ in span[1:]) >= window:
            span.pop(0)
        total = sum(d for d, _ in span)
        out.append(sum(d * c for d, c in span) / total if total else span[-1][1])
    return out


def plot(report, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    samples = report["samples"]
    if len(samples) < 2:
        return
    t = [s["t"] for s in samples]
    fig, axes = plt.subplots(4, 1, figsize=(10, 12), sharex=True)
    # Rates over 5 s or more (a hundredth of a short run, at least 1 s).
    window = max(1.0, min(RATE_WINDOW, (t[-1] - t[0]) / 100))
    axes[0].plot(*rate_series(samples, "accepted", "t", window), label="accepted/s (API)")
    axes[0].plot(*rate_series(samples, "active", "counted_t", window), label="ACTIVE/s")
    axes[0].plot(*rate_series(samples, "deleted", "counted_t", window), label="deleted/s")
    axes[0].set_ylabel(f"servers/s (over {window:.2g} s or more)")
    axes[0].legend()
    buckets = report.get("create_latency_over_time") or []
    if buckets:
        axes[1].plot([b[0] for b in buckets], [b[2] for b in buckets], label="p50")
        axes[1].plot([b[0] for b in buckets], [b[3] for b in buckets], label="p99")
        axes[1].set_ylabel("create request latency ms (by send time)"
                           if report["conditions"].get("batch", 1) > 1
                           else "create latency ms (by send time)")
        axes[1].legend()
    for key in ("conductor", "scheduler", "compute"):
        axes[2].plot(t, [s["queues"].get(key, 0) for s in samples], label=key)
    axes[2].set_ylabel("messages queued")
    axes[2].legend()
    for name in sorted(samples[-1]["cpu"]):
        axes[3].plot(t, mean_cores(samples, name, CPU_WINDOW), label=name)
    axes[3].set_ylabel(f"cores ({CPU_WINDOW:g} s mean)")
    axes[3].set_xlabel("seconds")
    axes[3].legend(fontsize="small", ncol=3)
    c, b = report.get("create"), report.get("build")
    if c is None:
        fig.suptitle(report.get("title", "nova-lite flood"))
    else:
        batch = report["conditions"].get("batch", 1)
        fig.suptitle(f"{report['conditions']['servers']} servers, "
                     f"{report['conditions']['clients']} clients"
                     + (f", {batch} a request" if batch > 1 else "")
                     + f": accept {c['accept_rate']}/s, ACTIVE {b['active_rate']}/s, "
                     + ("request " if batch > 1 else "")
                     + f"p99 {c['latency_ms']['p99']} ms")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def rich_progress(total, deleting=True):
    """A rich progress display and the callback the monitor updates it with."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, \
        TimeElapsedColumn
    progress = Progress(TextColumn("{task.description:>9}"), BarColumn(),
                        MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                        TimeElapsedColumn(), refresh_per_second=2)
    accepted = progress.add_task("accepted", total=total, info="")
    active = progress.add_task("ACTIVE", total=total, info="")
    deleted = progress.add_task("deleted", total=total, info="", visible=deleting)

    def update(rec, counts, depths):
        progress.update(accepted, completed=rec.accepted,
                        info=f"errors {sum(rec.errors.values())}")
        progress.update(active, completed=counts["active"] + counts["deleted"],
                        info=f"building {counts['building']} error {counts['error']} "
                             f"queues {depths}")
        progress.update(deleted, completed=counts["deleted"])
    return progress, update


# -- the sweep ----------------------------------------------------------------------------------
def print_sweep(steps, console=None):
    """One row a step; with --batch, counts and rates in servers, latencies
    per request, and a column of the requests sent."""
    from rich.table import Table
    console = console or wide_console()
    batch = max((s.get("batch", 1) for s in steps), default=1)
    title = "concurrency sweep (closed loop)"
    if batch > 1:
        title += f": {batch} servers a request; latency per request"
    columns = ["clients", "servers", "accepted", "accept/s", "peak 5s/s", "p50 ms",
               "p95 ms", "p99 ms", "errors", "timeouts", "ACTIVE", "client ms/srv", "exact"]
    if batch > 1:
        columns.insert(3, "requests")
    table = Table(*columns, title=title)
    for s in steps:
        lat = s["latency_ms"]
        clients = str(s["clients"]) if s["concurrency"] == s["clients"] else \
            f"{s['clients']} ({s['concurrency']} busy)"
        row = [clients, str(s["servers"]), str(s["accepted"]), str(s["accept_rate"]),
               str(s["accept_rate_peak_5s"]), str(lat["p50"]), str(lat["p95"]),
               str(lat["p99"]), str(s["errors"]), str(s["timeouts"]), str(s["active"]),
               str(s["client_cpu_ms_per_server"]),
               "yes" if s["accounting_exact"] else "NO"]
        if batch > 1:
            row.insert(3, str(s.get("requests", s["sent"])))
        table.add_row(*row)
    console.print(table)


def wide_console(width=140):
    """A rich console; printing to a file or pipe, ``width`` columns (not 80)."""
    from rich.console import Console
    console = Console()
    return console if console.is_terminal else Console(width=max(console.width, width))


def sweep_plot_path(path):
    root, ext = os.path.splitext(path)
    return f"{root}-sweep{ext or '.png'}"


def plot_sweep(steps, path, baseline=None):
    """Accept rate (overall and peak 5 s) and create latency p50/p99 against
    the number of clients, log x."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    if not steps:
        return
    x = [s["clients"] for s in steps]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 8), sharex=True)
    top.plot(x, [s["accept_rate"] for s in steps], "o-", label="accept rate (whole step)")
    top.plot(x, [s["accept_rate_peak_5s"] for s in steps], "s--", label="accept rate, peak 5 s")
    top.set_ylabel("servers accepted / s")
    top.set_ylim(bottom=0)
    top.legend()
    bottom.plot(x, [(s["latency_ms"]["p50"] or 0) / 1000 for s in steps], "o-", label="p50")
    bottom.plot(x, [(s["latency_ms"]["p99"] or 0) / 1000 for s in steps], "s-", label="p99")
    batch = max(s.get("batch", 1) for s in steps)
    bottom.set_ylabel(f"create request ({batch} servers) latency s" if batch > 1
                      else "create latency s")
    bottom.set_yscale("log")
    bottom.set_xscale("log")
    bottom.set_xticks(x, [str(c) for c in x])
    bottom.minorticks_off()
    bottom.set_xlabel("concurrent clients (closed loop)")
    bottom.legend()
    for ax in (top, bottom):
        ax.grid(True, which="both", alpha=0.3)
    title = "nova-lite: accept rate and create latency vs clients"
    if baseline:
        title += "\n" + baseline_line(baseline)
    fig.suptitle(title, fontsize="medium")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


# -- the baselines --------------------------------------------------------------------------------
def baseline_line(baseline):
    pg, mq = baseline.get("postgres") or {}, baseline.get("rabbitmq") or {}
    parts = []
    if "commits_per_s" in pg:
        parts.append("PostgreSQL " + ", ".join(f"{v:,.0f} commits/s ({k} conn)"
                                               for k, v in pg["commits_per_s"].items()))
    if "publish_confirmed_per_s" in mq:
        parts.append(f"RabbitMQ {mq['queue_type']} {mq['publish_confirmed_per_s']:,.0f} "
                     f"publish/s, {mq['consume_ack_per_s']:,.0f} consume/s")
    return "; ".join(parts)


def compare(accept_rate, transactions_per_server, baseline):
    """How the flood's accept rate stands against the backends alone."""
    pg, mq = baseline.get("postgres") or {}, baseline.get("rabbitmq") or {}
    out = {"accept_rate": accept_rate,
           "db_write_transactions_per_server": transactions_per_server}
    best = max((pg.get("commits_per_s") or {}).values(), default=None)
    if best and transactions_per_server:
        ceiling = best / transactions_per_server
        out["postgres_bound_servers_per_s"] = round(ceiling, 1)
        out["accept_rate_of_postgres_bound"] = round(accept_rate / ceiling, 3)
    if mq.get("publish_confirmed_per_s") and accept_rate:
        out["rabbitmq_publishes_per_s_per_accepted_server_per_s"] = round(
            mq["publish_confirmed_per_s"] / accept_rate, 1)
    return out


def print_baseline(baseline, comparison=None, console=None):
    from rich.console import Console
    from rich.table import Table
    console = console or Console()
    table = Table("backend alone (same run)", "rate", "detail",
                  title="baselines: the cloud's own PostgreSQL and RabbitMQ (load average "
                        f"{baseline.get('load_average_at_start')} -> "
                        f"{baseline.get('load_average_at_end')})")
    pg, mq = baseline.get("postgres") or {}, baseline.get("rabbitmq") or {}
    if "error" in pg:
        table.add_row("PostgreSQL", "failed", pg["error"])
    elif pg:
        settings = pg["settings"]
        for k, v in pg["commits_per_s"].items():
            table.add_row(f"PostgreSQL commits, {k} connection{'s' if k != '1' else ''}",
                          f"{v:,.0f}/s", f"INSERT + COMMIT, {pg['seconds']:g} s, client CPU "
                          f"{pg['client_cpu_s'][k]} s; fsync "
                          f"{settings.get('fsync')}, synchronous_commit "
                          f"{settings.get('synchronous_commit')}")
    if "error" in mq:
        table.add_row("RabbitMQ", "failed", mq["error"])
    elif mq:
        table.add_row(f"RabbitMQ publish, confirmed ({mq['queue_type']})",
                      f"{mq['publish_confirmed_per_s']:,.0f}/s",
                      f"persistent, {mq['window']} unconfirmed at most, "
                      f"{mq['message_bytes']} B, {mq['published']} msgs, client CPU "
                      f"{mq['client_cpu_s']['publish']} s")
        table.add_row(f"RabbitMQ consume + ack ({mq['queue_type']})",
                      f"{mq['consume_ack_per_s']:,.0f}/s",
                      f"prefetch {mq['prefetch']}, {mq['consumed']} msgs, client CPU "
                      f"{mq['client_cpu_s']['consume']} s")
    if comparison:
        table.add_row("flood accept rate", f"{comparison['accept_rate']}/s",
                      f"{comparison.get('db_write_transactions_per_server')} database "
                      "write transactions per server, create to ACTIVE (whole cloud)")
        if "postgres_bound_servers_per_s" in comparison:
            table.add_row("  PostgreSQL alone at that many commits per server",
                          f"{comparison['postgres_bound_servers_per_s']}/s",
                          f"flood reaches {100 * comparison['accept_rate_of_postgres_bound']:.1f}"
                          " % of it")
        if "rabbitmq_publishes_per_s_per_accepted_server_per_s" in comparison:
            table.add_row("  RabbitMQ confirmed publishes per accepted server",
                          str(comparison["rabbitmq_publishes_per_s_per_accepted_server_per_s"]),
                          "the broker's headroom: messages it could take per server "
                          "the API accepts")
    console.print(table)
