"""nova-lite-manage: operator commands that act on the database directly.

    nova-lite-manage [--config-file F] db sync | db version
    nova-lite-manage token-key create
    nova-lite-manage bootstrap --admin-password P [--demo-password P] [--service-password P]
    nova-lite-manage user create NAME --password P --project PROJECT [--role member]
        (deploy tools; people use the Identity API: `openstack user create`)
    nova-lite-manage flavor create NAME --vcpus N --ram MB --disk GB [--id ID]
    nova-lite-manage service list
    nova-lite-manage service disable HOST [--binary B] [--reason TEXT] | enable HOST
        (a disabled compute host gets no new servers)
    nova-lite-manage host list
    nova-lite-manage dlq list | show QUEUE | replay QUEUE | purge QUEUE --yes
    nova-lite-manage quota sync [--project PROJECT_ID]
"""
import argparse
import json
import sys

from rich.console import Console
from rich.table import Table

from nova_lite import conf
from nova_lite.conf import CONF

console = Console()


def _db_sync(args):
    from nova_lite.db import migrate
    migrate.sync(CONF.database.connection)
    console.print(f"database at revision {migrate.current(CONF.database.connection)}")


def _db_version(args):
    from nova_lite.db import migrate
    console.print(migrate.current(CONF.database.connection) or "empty")


def _token_key(args):
    from nova_lite.api.identity import tokens
    path = CONF.identity.fernet_key_file
    if tokens.generate_key(path):
        console.print(f"wrote a new token key to {path}")
    else:
        console.print(f"{path} already exists; kept it")


def _bootstrap(args):
    from nova_lite.db import bootstrap
    changed = [bootstrap.ensure_roles(),
               bootstrap.ensure_user("admin", args.admin_password, "admin", "admin")]
    if args.demo_password:
        changed.append(bootstrap.ensure_user("demo", args.demo_password, "demo", "member"))
        changed.append(bootstrap.ensure_user("admin", args.admin_password, "demo", "admin"))
    if args.service_password:
        # The service role: Keystone's validate_token lets services check
        # tokens. Exempt from the lockout: a host with a stale password must
        # not lock every compute host out of the Image API.
        for role in ("admin", "service"):
            changed.append(bootstrap.ensure_user(
                CONF.service_auth.username, args.service_password,
                CONF.service_auth.project_name, role, ignore_lockout=True))
    changed.append(bootstrap.ensure_default_flavors())
    # Deploy tools read the first word ("changed" / "unchanged").
    console.print(f"{'changed' if any(changed) else 'unchanged'}: roles, projects, users "
                  "and default flavors are in place")


def _user_create(args):
    from nova_lite.db import bootstrap
    bootstrap.ensure_user(args.name, args.password, args.project, args.role)
    console.print(f"user {args.name} has role {args.role} on project {args.project}")


def _flavor_create(args):
    from nova_lite.db import bootstrap
    bootstrap.ensure_flavor(args.id or args.name, args.name, args.vcpus, args.ram, args.disk)
    console.print(f"flavor {args.name} is in place")


def _service_list(args):
    from nova_lite.db import services
    from nova_lite.db.session import reader
    with reader() as session:
        rows = services.list_services(session)
    table = Table("Binary", "Host", "Status", "State", "Last seen", "Reports")
    for row in rows:
        table.add_row(row.binary, row.host, "disabled" if row.disabled else "enabled",
                      "up" if services.is_up(row) else "down",
                      row.last_seen_up.isoformat(timespec="seconds") if row.last_seen_up
                      else "never", str(row.report_count))
    console.print(table)


def _service_set(args, disabled):
    from nova_lite.db import services
    from nova_lite.db.session import transaction
    with transaction() as session:
        service = services.get_by_host_binary(session, args.host, args.binary,
                                              for_update=True)
        if service is None:
            raise LookupError(f"no {args.binary} service on host {args.host}")
        services.set_status(service, disabled=disabled,
                            reason=getattr(args, "reason", None))
    console.print(f"{args.binary} on {args.host} is "
                  + (f"disabled ({args.reason})" if disabled and args.reason
                     else "disabled" if disabled else "enabled"))


def _service_disable(args):
    _service_set(args, True)


def _service_enable(args):
    _service_set(args, False)


def _host_list(args):
    """The compute hosts, their capacity and what is claimed of it."""
    from nova_lite.db import hypervisors, services
    from nova_lite.db.session import reader
    table = Table("Host", "Status", "State", "vCPUs used/total", "RAM MB used/total",
                  "Disk GB used/total", "Servers")
    after = None
    with reader() as session:
        while True:
            rows = hypervisors.page(session, limit=1000, after_id=after)
            for node, service in rows:
                table.add_row(
                    node.host, "disabled" if service and service.disabled else "enabled",
                    "up" if service and services.is_up(service) else "down",
                    f"{node.vcpus_used}/{node.vcpus}",
                    f"{node.memory_mb_used}/{node.memory_mb}",
                    f"{node.local_gb_used}/{node.local_gb}", str(node.running_vms))
            if len(rows) < 1000:
                break
            after = rows[-1][0].id
    console.print(table)


def _quota_sync(args):
    """Recount quota usage from the rows and correct the counters that drifted
    (nova_lite.db.quotas.sync)."""
    from nova_lite.db import quotas
    from nova_lite.db.session import transaction
    with transaction() as session:
        fixed = quotas.sync(session, args.project)
    table = Table("Project", "User", "Resource", "Was", "Now")
    for project, user, resource, was, now in fixed:
        table.add_row(project or "-", user or "-", resource, str(was), str(now))
    if fixed:
        console.print(table)
    console.print(f"{len(fixed)} usage counter(s) corrected")


def _known_topics():
    from sqlalchemy import select

    from nova_lite.db import models
    from nova_lite.db.session import reader
    from nova_lite.rpc import topology
    with reader() as session:
        hosts = session.scalars(select(models.Service.host)
                                .where(models.Service.binary == "nova-lite-compute")).all()
    return [*topology.SHARED_TOPICS, *(topology.compute_topic(h) for h in sorted(hosts))]


def _dlq_topic(name):
    from nova_lite.rpc import dead_letters
    return dead_letters.topic_of(name)


def _dlq_list(args):
    from nova_lite.rpc import dead_letters
    table = Table("Dead-letter queue", "Messages")
    for name, count in dead_letters.counts(_known_topics()).items():
        table.add_row(name, str(count))
    console.print(table)


def _dlq_show(args):
    from nova_lite.rpc import dead_letters
    found = dead_letters.show(_dlq_topic(args.queue), args.limit)
    if args.json:
        print(json.dumps(found, indent=2, default=str))
        return
    if not found:
        console.print(f"{args.queue}: empty")
        return
    table = Table("Message id", "Method", "Reason", "Body", show_lines=True)
    for item in found:
        body = item["body"] if len(item["body"]) < 200 else item["body"][:200] + "..."
        table.add_row(str(item["message_id"]), str(item["method"]), str(item["reason"]),
                      body)
    console.print(table)


def _dlq_replay(args):
    from nova_lite.rpc import dead_letters
    count = dead_letters.replay(_dlq_topic(args.queue), args.limit)
    console.print(f"replayed {count} message(s) to {_dlq_topic(args.queue)}")


def _dlq_purge(args):
    from nova_lite.rpc import dead_letters
    if not args.yes:
        console.print("[red]Error:[/red] purge drops the messages for good; add --yes")
        raise SystemExit(1)
    count = dead_letters.purge(_dlq_topic(args.queue))
    console.print(f"purged {count} message(s) from {_dlq_topic(args.queue)}.dlq")


def build_parser():
    parser = argparse.ArgumentParser(prog="nova-lite-manage",
                                     description="nova-lite operator commands")
    parser.add_argument("--config-file", action="append", default=[],
                        help="config file (default /etc/nova-lite/nova-lite.conf)")
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="schema migrations").add_subparsers(dest="action",
                                                                        required=True)
    db.add_parser("sync", help="migrate the schema to the newest revision") \
        .set_defaults(func=_db_sync)
    db.add_parser("version", help="print the schema revision").set_defaults(func=_db_version)

    key = sub.add_parser("token-key", help="token key").add_subparsers(dest="action",
                                                                        required=True)
    key.add_parser("create", help="create the Fernet token key if missing") \
        .set_defaults(func=_token_key)

    boot = sub.add_parser("bootstrap", help="admin and demo projects, users, flavors")
    boot.add_argument("--admin-password", required=True)
    boot.add_argument("--demo-password")
    boot.add_argument("--service-password",
                      help="create the service user of [service_auth] (compute hosts use "
                           "it to fetch images and upload snapshots)")
    boot.set_defaults(func=_bootstrap)

    user = sub.add_parser("user", help="users").add_subparsers(dest="action", required=True)
    create_user = user.add_parser("create", help="create or update a user (for deploy "
                                  "tools; operators use `openstack user create`)")
    create_user.add_argument("name")
    create_user.add_argument("--password", required=True)
    create_user.add_argument("--project", required=True)
    create_user.add_argument("--role", default="member", choices=["admin", "member", "reader"])
    create_user.set_defaults(func=_user_create)

    flavor = sub.add_parser("flavor", help="flavors").add_subparsers(dest="action",
                                                                      required=True)
    create_flavor = flavor.add_parser("create", help="create a flavor if missing")
    create_flavor.add_argument("name")
    create_flavor.add_argument("--id")
    create_flavor.add_argument("--vcpus", type=int, required=True)
    create_flavor.add_argument("--ram", type=int, required=True, help="MiB")
    create_flavor.add_argument("--disk", type=int, required=True, help="GiB")
    create_flavor.set_defaults(func=_flavor_create)

    dlq = sub.add_parser("dlq", help="dead-letter queues").add_subparsers(dest="action",
                                                                          required=True)
    dlq.add_parser("list", help="every dead-letter queue and its message count") \
        .set_defaults(func=_dlq_list)
    dlq_show = dlq.add_parser("show", help="parked messages and why (left in place)")
    dlq_show.add_argument("queue", help="e.g. conductor, conductor.dlq or compute.host1")
    dlq_show.add_argument("--limit", type=int, default=20)
    dlq_show.add_argument("--json", action="store_true", help="machine-readable output")
    dlq_show.set_defaults(func=_dlq_show)
    dlq_replay = dlq.add_parser("replay", help="send parked messages back to their queue")
    dlq_replay.add_argument("queue")
    dlq_replay.add_argument("--limit", type=int, help="at most this many (default all)")
    dlq_replay.set_defaults(func=_dlq_replay)
    dlq_purge = dlq.add_parser("purge", help="drop every parked message of a queue")
    dlq_purge.add_argument("queue")
    dlq_purge.add_argument("--yes", action="store_true", help="really drop them")
    dlq_purge.set_defaults(func=_dlq_purge)

    svc = sub.add_parser("service", help="services").add_subparsers(dest="action",
                                                                    required=True)
    svc.add_parser("list", help="services and whether they are up") \
        .set_defaults(func=_service_list)
    for action, func, helptext in (
            ("disable", _service_disable, "disable a service (a compute host then gets "
                                          "no new servers)"),
            ("enable", _service_enable, "enable a service again")):
        parser_ = svc.add_parser(action, help=helptext)
        parser_.add_argument("host")
        parser_.add_argument("--binary", default="nova-lite-compute")
        if action == "disable":
            parser_.add_argument("--reason", help="why (shown by os-services)")
        parser_.set_defaults(func=func)

    host = sub.add_parser("host", help="compute hosts").add_subparsers(dest="action",
                                                                       required=True)
    host.add_parser("list", help="compute hosts, their capacity and use") \
        .set_defaults(func=_host_list)

    quota = sub.add_parser("quota", help="quota usage").add_subparsers(dest="action",
                                                                       required=True)
    sync = quota.add_parser("sync", help="recount usage from the rows and correct it")
    sync.add_argument("--project", help="only this project's (id); key pairs are "
                                        "recounted only without it")
    sync.set_defaults(func=_quota_sync)
    return parser


def main(argv=None):
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    conf_argv = []
    for path in args.config_file:
        conf_argv += ["--config-file", path]
    conf.parse_args(conf_argv)
    try:
        args.func(args)
    except Exception as exc:  # noqa: BLE001 - an operator gets one clear line
        console.print(f"[red]Error:[/red] {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
