#!/usr/bin/env python3
"""Flood a nova-lite cloud with server creates and deletes, and check it kept count.

    tools/flood.py --start-cloud --hosts 200 --clients 200 --servers 2000
    tools/flood.py --url http://127.0.0.1:8774 --db postgresql+psycopg2://... \\
                   --amqp amqp://guest:guest@127.0.0.1:5672/ --pid-dir /run/nova-lite \\
                   --clients 1000 --servers 100000
    tools/flood.py --start-cloud --hosts 2000 --servers 2000 --baseline \\
                   --sweep 100,300,1000,3000,10000
    tools/flood.py --start-cloud --hosts 50 --clients 20 --servers 1000 --batch 10

N asyncio clients (aiohttp, one session: at most --connections keep-alive
connections shared by all) create M servers (closed loop: each client sends
its next request when the last is answered; or open loop with --rate), then
wait for every server to be ACTIVE or ERROR, then delete them all.

The servers take the real path, as ``openstack server create --network X``:
the flood makes (or finds, by name) a network ``flood-net-<cidr>`` with one
subnet --cidr (default 10.128.0.0/16: 65,533 addresses; a larger run needs a
larger one) in its project, on --start-cloud and on a running cloud alike
(made by the admin for the project: a /16 is more than a project may make
itself, [network] project_largest_subnet_prefixlen_v4),
and each create asks for ``"networks": [{"uuid": <it>}]`` and
``"security_groups": [{"name": "default"}]`` (the project's default group,
whose ingress rule names the group itself, as Neutron's does). The report
counts by SQL (ports, ip_allocations, port_security_groups) the servers with
a port, an address and the group once settled (JSON "network"), and the
subnet's addresses in use before the run and after the deletes.
Before a run the flood sets its project's quotas as admin (--quota N: N
servers and ports, cores and RAM in proportion; -1 unlimited; default
1,000,000, finite so that every create is checked), so the defaults (10
servers) never refuse it.
--no-network is the old path: ``"networks": "none"``, no port, address or
group. While it
runs a progress bar shows accepted / ACTIVE / deleted; a monitor samples,
every --sample seconds, the servers' states (SQL), the queue depths
(RabbitMQ) and the CPU and RSS of every service process (psutil, by pid).

At the end it prints and writes (--json) the API accept rate, end-to-end
ACTIVE/s, create (request) latency p50/p95/p99, build time (created ->
launched) p50/p95/p99, counts of ACTIVE / ERROR / still building, the delete
rate, the queue depths over time, CPU seconds and peak RSS per process (this
client's CPU per create and delete too), and draws (--plot) rates, latencies
and queue depths over time. It verifies by SQL that accounting is exact: each
compute node's usage equals the sum of its allocations and of its live
instances' flavors, no instance holds two allocations, no allocation outlives
its instance, no IP address is allocated twice, no port or address is
held by a deleted server, every quota usage counter equals a recount of
the rows, and no server group's hard policy is broken (checked once settled
and after the deletes: every deleted server's ports and addresses were
freed).

--anti-affinity N makes every N servers in turn the members of one
anti-affinity server group (made before the run, the project's
server_group_members quota set to N; each create names its group in the
'group' scheduler hint).

--batch N makes each create request a multi-create of N servers ("min_count"
and "max_count" N; the last request asks for the rest): --servers stays the
number of servers (ceil(servers / N) requests), --rate servers/s (rate / N
requests/s). The API answers with the first server's id only; the servers are
named <name>-1..<name>-N. Every count and rate that says servers stays in
servers (accepted, accept rates and their peak, the progress bar, the
per-second samples, the sweep's steps, the baseline comparison, client CPU
and database transactions per server); the create latencies are per request
("create request latency"), and the report adds the requests sent and
accepted (JSON "conditions": "batch"; "create": "requests",
"requests_accepted", "request_rate"). Deleting stays one DELETE per server:
the flood deletes the ids it was answered with and, found by name in the
database, every other server of its run (a batch's but its first, and those
whose answer was lost).

--sweep C1,C2,... runs the closed-loop create phase at each client count in
turn (each step --servers servers, or C:S for S; --batch N a request),
settles and deletes each step's servers, and prints, writes (JSON "sweep")
and plots (<plot>-sweep.png: accept rate and p99 against clients, log x) each
step's accept rate, peak, latencies, errors and timeouts.

--baseline first measures what the cloud's own PostgreSQL (commits/s, 1 and 8
connections) and RabbitMQ (confirmed persistent publishes/s and consumes/s,
a queue of the cloud's shared-queue type) do alone (tools/flood_baseline.py),
and prints and writes them (JSON "baseline") beside the flood's figures.

--start-cloud starts PostgreSQL, RabbitMQ and every service (one
nova-lite-compute running --hosts simulated hosts) from the test fixtures,
in temporary directories, and stops them at the end.

--faults conductor,scheduler,compute,api-worker,api-master,rabbit-leader,postgres
(or all; with --start-cloud, which then runs a 3-node RabbitMQ cluster with
quorum compute queues) is the fault mode (tools/flood_faults.py): --clients
closed-loop clients create servers on the network (while fewer than
--max-building are still building) and every --fault-interval s one fault
strikes: kill -9 of a service (restarted at once by a supervisor, as systemd
would), of the RabbitMQ node leading the shared queues (started again at
once), or an immediate restart of PostgreSQL. Clients retry a 503 after its
Retry-After and a refused connection with backoff; every other 5xx is a
failure. It reports per fault its time, repair time, ACTIVE-rate recovery
(back to half its pre-fault median), 5xx by code; at the end the fate of
every accepted server (none lost, in ERROR or stuck) and the accounting;
exit status 0 only if all of it is clean.

    tools/flood.py --start-cloud --hosts 4 --clients 30 --faults all \
                   --fault-interval 30

The clients share one token, renewed before it expires and once on a 401
(flood_http.Auth). tools/flood_cleanup.py lists and deletes, timed, what a
run cut short (or --no-delete) left.

Modules: flood_http (requests, client loops, the token, the network), flood_run
(a session's phases), flood_faults (the fault mode), flood_sweep, flood_baseline, flood_watch (sampling), flood_check
(accounting), flood_report (report, tables, plots), flood_cloud (targets)."""
import argparse
import asyncio
import contextlib
import json
import os
import sys

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
for _path in (ROOT, TOOLS):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import flood_baseline  # noqa: E402
import flood_faults  # noqa: E402
from flood_check import CHECKS, verify  # noqa: E402,F401 - part of this module's API
from flood_cloud import (ADMIN_PASSWORD, DEMO_PASSWORD, Target, own_cloud,  # noqa: E402
                         pids_from, shared_queue_type)
from flood_report import (build_report, compare, network_report, plot,  # noqa: E402
                          plot_sweep, print_baseline, print_summary, print_sweep, rate_peak,
                          rich_progress, sweep_plot_path, wide_console, with_network)
from flood_http import DEFAULT_CIDR  # noqa: E402
from flood_run import Flood  # noqa: E402
from flood_stats import percentile  # noqa: E402,F401
from flood_sweep import parse_steps, sweep  # noqa: E402

__all__ = ["CHECKS", "Target", "flood", "flood_sweep", "main", "own_cloud", "print_summary",
           "run", "verify", "percentile", "ADMIN_PASSWORD", "DEMO_PASSWORD"]


async def flood(target, servers, clients, connections=None, flavor="1", image=None,
                rate=None, delete=True, timeout=600.0, sample=1.0, progress=None,
                request_timeout=60.0, list_samples=20, batch=1, checkpoint=None,
                cidr=DEFAULT_CIDR, anti_affinity=0):
    """Create ``servers`` servers (``batch`` a request) with ``clients``
    clients, each on the flood's network (subnet ``cidr``; None: no network)
    in the 'default' group, settle, list, delete; returns the report
    (flood_report.build_report). ``checkpoint(report)``, if given, gets the
    report of the create phase before the deletes start. ``anti_affinity``
    N > 0: every N servers in turn are one anti-affinity server group's
    members (the ``group`` scheduler hint)."""
    f = Flood(target, connections or min(clients, 1000), flavor, image, sample, progress,
              request_timeout, cidr)
    try:
        async with f:
            created = await f.create(servers, clients, rate, batch=batch,
                                     anti_affinity=anti_affinity)
            f.phase["name"] = "settle"
            final = await f.settle(created, timeout)
            builds, last_active = f.builds()
            accounting_loaded = f.accounting()
            network = network_report(f)
            listing = await f.list_latency(list_samples)
            if checkpoint:
                # Every figure of the create phase, before the (long) deletes.
                checkpoint(with_network(build_report(
                    f, servers, clients, rate, created, final, builds, last_active,
                    accounting_loaded, listing), network))
            deleted = None
            if delete:
                f.phase["name"] = "delete"
                deleted = await f.delete(created["ids"], clients, timeout)
                if network:
                    network["subnet_used_after_delete"] = f.subnet_used()
        return with_network(build_report(
            f, servers, clients, rate, created, final, builds, last_active, accounting_loaded,
            listing, deleted, f.accounting(), f.leftover_allocations() if delete else None),
            network)
    finally:
        f.close()


async def flood_sweep(target, steps, connections=None, flavor="1", image=None, delete=True,
                      timeout=600.0, sample=1.0, progress=None, request_timeout=60.0,
                      batch=1, cidr=DEFAULT_CIDR, **_ignored):
    """The concurrency sweep (flood_sweep.sweep) in one session; returns its report."""
    most = max(c for c, _ in steps)
    f = Flood(target, connections or min(most, 1000), flavor, image, sample, progress,
              request_timeout, cidr)
    try:
        async with f:
            steps_out = await sweep(f, steps, timeout, delete, batch)
        accounting = f.accounting()
        rec = f.rec
        samples = rec.samples
        started = samples[0]["t"] if samples else 0.0
        report = {
            "title": "nova-lite flood: concurrency sweep " + ",".join(
                f"{c}:{n}" for c, n in steps),
            "conditions": {"sweep": [list(s) for s in steps], "batch": batch,
                           "connections": f.connections,
                           "hosts": target.hosts, "request_timeout_s": request_timeout,
                           "cpus": os.cpu_count(), "url": target.url,
                           "open_files_limit": list(f.nofile),
                           "load_average_at_start": rec.load_at_start,
                           "load_average_at_end": [round(x, 1) for x in os.getloadavg()]},
            "sweep": steps_out,
            "errors": rec.errors,
            "retries": rec.retries,
            "accounting_after": accounting,
            "exact": all(s["accounting_exact"] for s in steps_out)
            and all(not v for v in accounting.values()),
            "processes": f.procs.summary(max((samples[-1]["t"] - started) if samples
                                             else 1.0, 1e-6)),
            "queue_depth_max": {k: max((s["queues"].get(k, 0) for s in samples), default=0)
                                for k in ("conductor", "scheduler", "compute")},
            "accept_rate_peak_5s": rate_peak(samples, "accepted"),
            "samples": samples,
        }
        return report
    finally:
        f.close()


def run(target, servers, clients, show_progress=True, json_path=None, plot_path=None,
        sweep=None, baseline=None, **kwargs):
    """A flood (or, with ``sweep`` [(clients, servers)], a sweep), after the
    backend baselines when ``baseline`` (seconds each) is given; writes the
    JSON and the plots; returns the report."""
    measured = None
    if baseline:
        measured = flood_baseline.measure(
            target.db_url, target.amqp_url, shared_queue_type(target), baseline,
            log=print if show_progress else (lambda *a: None))
    progress = None
    update = None
    if show_progress:
        total = sum(n for _, n in sweep) if sweep else servers
        progress, update = rich_progress(total, kwargs.get("delete", True))
    with progress if progress else contextlib.nullcontext():
        if sweep:
            report = asyncio.run(flood_sweep(target, sweep, progress=update, **kwargs))
        else:
            report = asyncio.run(flood(target, servers, clients, progress=update,
                                       checkpoint=_writer(json_path, "create phase",
                                                          baseline=measured),
                                       **kwargs))
    if measured is not None:
        report["baseline"] = measured
        if sweep:
            best = max(report["sweep"], key=lambda s: s["accept_rate"])
            report["baseline_comparison"] = compare(best["accept_rate"],
                                                    best["db_write_transactions_per_server"],
                                                    measured)
        else:
            report["baseline_comparison"] = compare(
                report["create"]["accept_rate"],
                report["create"]["db_write_transactions_per_server"], measured)
    if plot_path:
        plot(report, plot_path)
        if sweep:
            plot_sweep(report["sweep"], sweep_plot_path(plot_path), measured)
    if json_path:
        with open(json_path, "w") as f:
            json.dump(report, f, indent=1, default=str)
    return report


def _writer(json_path, phase, baseline=None):
    """A checkpoint that writes a partial report to ``json_path`` (marked
    ``"partial": phase``, with the backends' ``baseline`` if measured), so a
    long run that is cut short keeps its figures."""
    if not json_path:
        return None
    extra = {"partial": phase, **({"baseline": baseline} if baseline is not None else {})}

    def write(report):
        with open(json_path, "w") as f:
            json.dump({**report, **extra}, f, indent=1, default=str)
    return write


def run_faults(target, faults, clients, show_progress=True, json_path=None, **kwargs):
    """The fault mode (tools/flood_faults.py): writes the JSON; returns the report."""
    progress = update = None
    if show_progress:
        progress, update = rich_progress(None, kwargs.get("delete", True))
    with progress if progress else contextlib.nullcontext():
        report = asyncio.run(flood_faults.flood_faults(target, faults, clients,
                                                       progress=update, **kwargs))
    if json_path:
        with open(json_path, "w") as f:
            json.dump(report, f, indent=1, default=str)
    return report


# A simulated host of the fault mode holds thousands of servers: closed-loop
# clients create for minutes on a few hosts.
FAULT_SIM_CONF = "vcpus = 65536\nmemory_mb = 134217728\nlocal_gb = 16777216\n"


def print_report(report, console=None):
    """The final tables: the flood's or the sweep's, then the baselines."""
    console = console or wide_console()
    if "faults" in report:
        print_summary(report, console)
        flood_faults.print_faults(report, console)
        return
    if "sweep" in report:
        print_sweep(report["sweep"], console)
        console.print(f"errors: {json.dumps(report['errors']) if report['errors'] else 'none'}; "
                      f"retried: "
                      f"{json.dumps(report['retries'])}; accounting exact: "
                      f"{'yes' if report['exact'] else 'NO'}; max queue depth: "
                      f"{json.dumps(report['queue_depth_max'])}")
    else:
        print_summary(report, console)
    if "baseline" in report:
        print_baseline(report["baseline"], report.get("baseline_comparison"), console)


def succeeded(report):
    if "faults" in report:
        return report["faults"]["ok"]
    if "sweep" in report:
        return report["exact"] and not report["errors"] and all(
            s["still_building"] == 0 for s in report["sweep"])
    network = report.get("network")
    return report["exact"] and not report["errors"] and \
        report["build"]["still_building"] == 0 and (not network or network["complete"])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=1000,
                        help="servers to create (in each sweep step)")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--connections", type=int,
                        help="HTTP connections shared by the clients (default "
                             "min(clients, 1000); with --sweep, of the largest step)")
    parser.add_argument("--rate", type=float,
                        help="open loop: servers per second (rate / batch requests/s)")
    parser.add_argument("--batch", type=int, default=1, metavar="N",
                        help="servers per create request (multi-create, min_count = "
                             "max_count = N; --servers still counts servers, the last "
                             "request asks for the rest; the API answers with the first "
                             "id only, so the others are found by name in the database "
                             "to delete them, still one DELETE per server)")
    parser.add_argument("--sweep", metavar="C1,C2[:S2],...",
                        help="closed-loop create phase at each client count in turn "
                             "(S servers a step, default --servers)")
    parser.add_argument("--baseline", nargs="?", type=float, const=5.0, default=None,
                        metavar="SECONDS",
                        help="first measure the cloud's PostgreSQL and RabbitMQ alone "
                             "(SECONDS each, default 5)")
    parser.add_argument("--flavor", default="1")
    parser.add_argument("--image", help="image id (default: upload flood-tiny)")
    parser.add_argument("--cidr", default=DEFAULT_CIDR,
                        help="the subnet of the flood's network (made in the flood's "
                             "project if missing; a /16 holds 65,533 servers)")
    parser.add_argument("--anti-affinity", type=int, default=0, metavar="N",
                        help="every N servers in turn are the members of one "
                             "anti-affinity server group (made before the run; the "
                             "'group' scheduler hint); 0: none")
    parser.add_argument("--quota", type=int, default=1_000_000,
                        help="the flood project's limits, set as admin before the run: "
                             "servers and ports (cores x64, RAM x64 GiB); -1: unlimited "
                             "(default 1,000,000: finite, so every create is checked)")
    parser.add_argument("--no-network", action="store_true",
                        help="servers without a network (\"networks\": \"none\"): the "
                             "flood's old path, no ports, addresses or groups")
    parser.add_argument("--no-delete", dest="delete", action="store_false")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds to wait for builds, and for deletes")
    parser.add_argument("--request-timeout", type=float, default=60.0,
                        help="seconds a request may wait for a connection, and between "
                             "reads of its answer; a timeout counts as an error")
    parser.add_argument("--sample", type=float, default=1.0, help="monitor interval (s)")
    parser.add_argument("--json", default="flood.json")
    parser.add_argument("--plot", default="flood.png")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    cloud = parser.add_argument_group("a running cloud")
    cloud.add_argument("--url", default=os.environ.get("NOVA_LITE_URL",
                                                       "http://127.0.0.1:8774"))
    cloud.add_argument("--db", help="SQLAlchemy URL of its database")
    cloud.add_argument("--amqp", help="amqp:// URL of its broker (queue depths, baseline)")
    cloud.add_argument("--config-file", default="/etc/nova-lite/nova-lite.conf",
                       help="its nova-lite.conf ([rpc] shared_queue_type for --baseline)")
    cloud.add_argument("--pid-dir", default="/run/nova-lite")
    cloud.add_argument("--user", default="demo")
    cloud.add_argument("--password", default=os.environ.get("OS_PASSWORD", DEMO_PASSWORD))
    cloud.add_argument("--project", default="demo")
    cloud.add_argument("--admin-password", default=ADMIN_PASSWORD)
    own = parser.add_argument_group("a cloud of its own (--start-cloud)")
    own.add_argument("--start-cloud", action="store_true")
    own.add_argument("--faults", metavar="F1,F2,...|all",
                     help="fault mode: " + ",".join(flood_faults.FAULTS) + " one at a "
                          "time under closed-loop creates (a 3-node RabbitMQ cluster; "
                          "tools/flood_faults.py)")
    own.add_argument("--fault-interval", type=float, default=45.0,
                     help="seconds between faults (and before the first, and after "
                          "the last)")
    own.add_argument("--max-building", type=int,
                     help="fault mode: clients wait while this many servers are accepted "
                          "and not yet settled (default 10 x clients)")
    own.add_argument("--fault-settle", type=float, default=300.0,
                     help="seconds the servers have to settle after the last fault "
                          "(then a server still building is stuck)")
    own.add_argument("--hosts", type=int, default=100, help="simulated hosts")
    own.add_argument("--schedulers", type=int, default=1)
    own.add_argument("--api-workers", type=int, default=2)
    own.add_argument("--spawn-time", type=float, default=0.0)
    own.add_argument("--delete-time", type=float, default=0.0)
    own.add_argument("--failure-rate", type=float, default=0.0)
    own.add_argument("--conf", default="", help="extra nova-lite.conf text (\\n for newlines)")
    own.add_argument("--unsafe-db", action="store_true",
                     help="PostgreSQL with fsync and synchronous_commit off (the test "
                          "fixtures' settings; default: durable, as devstack runs it)")
    own.add_argument("--per-host-reports", action="store_true",
                     help="one compute_node_update per host (default: batched, "
                          "compute_nodes_update)")
    args = parser.parse_args(argv)
    if not 1 <= args.batch <= 1000:
        parser.error("--batch: 1 to 1000 servers a request (the API's max_count)")
    steps = None
    if args.sweep:
        try:
            steps = parse_steps(args.sweep, args.servers)
        except ValueError as exc:
            parser.error(str(exc))
        if args.rate:
            parser.error("--sweep runs closed loops: no --rate")
    kwargs = dict(connections=args.connections, flavor=args.flavor, image=args.image,
                  rate=args.rate, delete=args.delete, timeout=args.timeout, sample=args.sample,
                  request_timeout=args.request_timeout, batch=args.batch,
                  cidr=None if args.no_network else args.cidr)
    if args.anti_affinity:
        if steps or args.batch > 1:
            parser.error("--anti-affinity: one server a request, no --sweep")
        kwargs["anti_affinity"] = args.anti_affinity
    common = dict(show_progress=not args.quiet, json_path=args.json, plot_path=args.plot,
                  sweep=steps, baseline=args.baseline)
    faults = None
    if args.faults:
        try:
            faults = flood_faults.parse_faults(args.faults)
        except ValueError as exc:
            parser.error(str(exc))
        if not args.start_cloud or steps or args.rate or args.batch > 1:
            parser.error("--faults needs --start-cloud, closed-loop clients, no --sweep, "
                         "--rate or --batch")
    if args.start_cloud:
        sim = (f"spawn_time = {args.spawn_time}\ndelete_time = {args.delete_time}\n"
               f"failure_rate = {args.failure_rate}\n")
        if faults:
            with own_cloud(args.hosts, args.schedulers, args.api_workers,
                           args.conf.replace("\\n", "\n"), sim + FAULT_SIM_CONF,
                           not args.per_host_reports, durable=not args.unsafe_db,
                           rabbit_nodes=3, compute_queue_type="quorum") as target:
                target.hosts = args.hosts
                target.quota = args.quota
                report = run_faults(
                    target, faults, args.clients, show_progress=not args.quiet,
                    json_path=args.json, interval=args.fault_interval,
                    settle_timeout=args.fault_settle, max_building=args.max_building,
                    **{k: v for k, v in kwargs.items() if k not in ("rate", "batch",
                                                                    "timeout")})
            print_report(report)
            return 0 if succeeded(report) else 1
        with own_cloud(args.hosts, args.schedulers, args.api_workers,
                       args.conf.replace("\\n", "\n"), sim,
                       not args.per_host_reports, durable=not args.unsafe_db) as target:
            target.hosts = args.hosts
            target.quota = args.quota
            report = run(target, args.servers, args.clients, **common, **kwargs)
    else:
        if not args.db:
            parser.error("--db is required for a running cloud (or use --start-cloud)")
        target = Target(url=args.url, db_url=args.db, amqp_url=args.amqp,
                        pids=pids_from(args.pid_dir), user=args.user,
                        password=args.password, project=args.project,
                        admin_password=args.admin_password, config_file=args.config_file,
                        quota=args.quota)
        report = run(target, args.servers, args.clients, **common, **kwargs)
    print_report(report)
    return 0 if succeeded(report) else 1


if __name__ == "__main__":
    sys.exit(main())
