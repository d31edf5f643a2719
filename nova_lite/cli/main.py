"""Entry point of ``nova-lite``: the global options (``--os-*``, defaulting to
the ``OS_*`` environment variables, and ``--debug``), the ``RESOURCE ACTION``
command tree, and the one place errors become an ``Error: ...`` line on stderr
and exit code 1 (a traceback only with ``--debug``)."""
import argparse
import logging
import os
import sys
import traceback

from nova_lite.cli import (
    errors,
    flavors,
    images,
    keypairs,
    networks,
    output,
    parsing,
    server_actions,
    servers,
    session,
    usage,
)
from nova_lite.version import __version__

# (option after --os-, environment variable, help)
AUTH_OPTIONS = (
    ("auth-url", "OS_AUTH_URL", "Identity v3 URL, e.g. http://cloud/identity/v3"),
    ("username", "OS_USERNAME", "user name"),
    ("password", "OS_PASSWORD", "password"),
    ("project-name", "OS_PROJECT_NAME", "project to work in"),
    ("project-id", "OS_PROJECT_ID", "project to work in, by ID"),
    ("user-domain-name", "OS_USER_DOMAIN_NAME", "domain of the user"),
    ("user-domain-id", "OS_USER_DOMAIN_ID", "domain of the user, by ID"),
    ("project-domain-name", "OS_PROJECT_DOMAIN_NAME", "domain of the project"),
    ("project-domain-id", "OS_PROJECT_DOMAIN_ID", "domain of the project, by ID"),
    ("region-name", "OS_REGION_NAME", "region whose endpoints to use"),
    ("interface", "OS_INTERFACE", "endpoint interface (default: public)"),
    ("cacert", "OS_CACERT", "CA bundle to verify TLS certificates with"),
)

COMMAND_MODULES = (servers, flavors, images, keypairs, networks, usage)
# Modules adding actions to a resource another module registered.
ACTION_MODULES = {servers: (server_actions,)}


def build_parser(environ=None):
    """The whole command line; ``environ`` supplies the ``OS_*`` defaults."""
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(
        prog="nova-lite",
        description="Command-line client for a nova-lite (OpenStack) cloud.",
        epilog="Settings come from the OS_* environment variables (source an "
               "openrc file) or the matching --os-* options.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="log HTTP requests and show tracebacks")
    auth = parser.add_argument_group("authentication")
    for option, variable, help_text in AUTH_OPTIONS:
        auth.add_argument(f"--os-{option}", default=environ.get(variable),
                          metavar=option.rsplit("-", 1)[-1].upper(),
                          help=f"{help_text} (env {variable})")
    auth.add_argument("--insecure", dest="os_insecure", action="store_const",
                      const="true", default=environ.get("OS_INSECURE"),
                      help="do not verify TLS certificates (env OS_INSECURE)")
    top = parser.add_subparsers(dest="resource", metavar="RESOURCE", required=True)
    common = parsing.common_options()
    for module in COMMAND_MODULES:
        actions = module.register(top, common)
        for extra in ACTION_MODULES.get(module, ()):
            extra.register(actions, common)
    return parser


def _configure_logging(debug):
    if debug:
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr,
                            format="%(levelname)s %(name)s: %(message)s")
    else:
        # Library warnings (discovery fallbacks, TLS warnings) would be noise
        # around our own one-line messages.
        logging.getLogger().addHandler(logging.NullHandler())
        logging.captureWarnings(True)


def run(args, out):
    """Run the parsed command; return the exit code."""
    try:
        client = session.Client(session.AuthOptions.from_args(args))
        return args.func(client, out, args) or 0
    except errors.CliError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:           # a bug, or a library error we do not know
        if args.debug:
            raise
        print(f"Error: unexpected {type(exc).__name__}: {exc} "
              "(run with --debug for the traceback)", file=sys.stderr)
        return 1


def main(argv=None):
    args = build_parser().parse_args(argv)
    _configure_logging(args.debug)
    return run(args, output.Output(args.format))


if __name__ == "__main__":
    sys.exit(main())
