"""argparse helpers shared by the command modules: the ``RESOURCE ACTION``
layout, the options every command has, and option value types."""
import argparse

from nova_lite.cli import output


def common_options():
    """A parent parser with the options every command takes."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("-f", "--format", choices=output.FORMATS, default="table",
                        help="output format (default: table)")
    return parent


def resource(top, name, help_text):
    """Add ``nova-lite NAME`` and return the sub-parsers for its actions."""
    parser = top.add_parser(name, help=help_text, description=help_text)
    return parser.add_subparsers(dest="action", metavar="ACTION", required=True)


def action(actions, name, func, help_text, common):
    """Add ``nova-lite RESOURCE NAME`` running ``func(client, out, args)``."""
    parser = actions.add_parser(name, help=help_text, description=help_text,
                                parents=[common])
    parser.set_defaults(func=func)
    return parser


def key_value(text):
    """``key=value`` -> ``(key, value)``, for ``--property``."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def seconds(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text}")
    return value


def add_property_option(parser, what):
    parser.add_argument("--property", metavar="KEY=VALUE", type=key_value,
                        action="append", default=[],
                        help=f"a property to set on the {what} (repeatable)")
