"""``nova-lite usage ...``: what projects' servers used over a period
(os-simple-tenant-usage), as ``openstack usage list/show``.

    nova-lite usage list [--start YYYY-MM-DD] [--end YYYY-MM-DD]     (admin)
    nova-lite usage show [--project ID] [--start ...] [--end ...]

The period defaults to the last 4 weeks up to now, as openstack's does."""
import datetime

from nova_lite.cli import errors, parsing, session

COLUMNS = [("Project", "tenant_id"), ("Servers", "servers"), ("RAM MB-Hours", "ram"),
           ("CPU Hours", "cpu"), ("Disk GB-Hours", "disk")]


def _day(text):
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise errors.CliError(f"Invalid date {text!r}: expected YYYY-MM-DD") from None


def period(args, now=None):
    """(start, end) query values: ``--end`` (default now), ``--start``
    (default 4 weeks before the end)."""
    now = now or datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    end = _day(args.end) if args.end else now
    start = _day(args.start) if args.start else end - datetime.timedelta(weeks=4)
    return {"start": start.strftime("%Y-%m-%dT%H:%M:%S"),
            "end": end.strftime("%Y-%m-%dT%H:%M:%S")}


def row(usage):
    """One project's usage as the table shows it."""
    return {"tenant_id": usage.get("tenant_id"),
            "servers": len(usage.get("server_usages") or []),
            "ram": f"{usage.get('total_memory_mb_usage', 0):.2f}",
            "cpu": f"{usage.get('total_vcpus_usage', 0):.2f}",
            "disk": f"{usage.get('total_local_gb_usage', 0):.2f}"}


def list_usage(client, out, args):
    params = dict(period(args), detailed="1")
    body = client.get(session.COMPUTE, "/os-simple-tenant-usage", params=params)
    out.list(COLUMNS, [row(u) for u in body.get("tenant_usages", [])])


def show_usage(client, out, args):
    project = args.project or client.project_id()
    body = client.get(session.COMPUTE, f"/os-simple-tenant-usage/{project}",
                      params=period(args))
    usage = body.get("tenant_usage") or {"tenant_id": project}
    out.show(row(usage))


def register(top, common):
    actions = parsing.resource(top, "usage", "resource usage over a period")
    for name, func, help_text in (
            ("list", list_usage, "Every project's usage (admin)"),
            ("show", show_usage, "One project's usage (default: yours)")):
        parser = parsing.action(actions, name, func, help_text, common)
        parser.add_argument("--start", metavar="YYYY-MM-DD",
                            help="from this day (default: 4 weeks before the end)")
        parser.add_argument("--end", metavar="YYYY-MM-DD", help="until this day "
                                                                "(default: now)")
        if name == "show":
            parser.add_argument("--project", metavar="ID",
                                help="the project's ID (default: the one you work in)")
    return actions
