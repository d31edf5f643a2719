"""nova-lite-manage: operator commands that act on the database directly.

    nova-lite-manage [--config-file F] db sync | db version
    nova-lite-manage token-key create
    nova-lite-manage bootstrap --admin-password P [--demo-password P] [--service-password P]
    nova-lite-manage user create NAME --password P --project PROJECT [--role member]
    nova-lite-manage flavor create NAME --vcpus N --ram MB --disk GB [--id ID]
    nova-lite-manage service list
"""
import argparse
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
    bootstrap.ensure_user("admin", args.admin_password, "admin", "admin")
    if args.demo_password:
        bootstrap.ensure_user("demo", args.demo_password, "demo", "member")
        bootstrap.ensure_user("admin", args.admin_password, "demo", "admin")
    if args.service_password:
        bootstrap.ensure_user(CONF.service_auth.username, args.service_password,
                              CONF.service_auth.project_name, "admin")
    bootstrap.ensure_default_flavors()
    console.print("projects, users and default flavors are in place")


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
    create_user = user.add_parser("create", help="create or update a user")
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

    svc = sub.add_parser("service", help="services").add_subparsers(dest="action",
                                                                    required=True)
    svc.add_parser("list", help="services and whether they are up") \
        .set_defaults(func=_service_list)
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
