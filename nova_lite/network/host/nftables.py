"""The whole nftables state of this compute service, applied atomically.

One ``nft -f -`` transaction replaces both tables named [network] nft_table
(``inet``: security groups and floating IP NAT; ``bridge``: anti-spoofing):

    table inet T          (create it if missing, so the delete cannot fail)
    delete table inet T
    table inet T { ... }  (the new content)
    ... the same for table bridge T

Either all of it applies or nothing changes. Conntrack entries are not part
of a table, so established connections survive a re-apply. Only these two
tables are ever touched. Members of remote groups change without a re-apply:
``set_changes`` adds and deletes elements of their sets.
"""
import re

from nova_lite.conf import CONF
from nova_lite.network.host import commands, firewall, nat, overlay

FAMILIES = ("inet", "bridge")
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def table_name():
    name = CONF.network.nft_table
    if not _TABLE.match(name or ""):
        raise ValueError(f"[network] nft_table {name!r} is not a valid nftables table "
                         "name (letters, digits and _; starting with a letter or _)")
    return name


def ruleset(vifs, bridges=(), table=None, warn=None, members=None, segments=()):
    """The nft script installing the tables for ``vifs``; ``bridges`` are the
    guest bridges whose traffic to the host is restricted; ``members`` the
    remote groups' addresses ({group id: [address]}); ``segments`` the VXLAN
    ports and what must not cross them (overlay.bridge_lines)."""
    table = table or table_name()
    inet = (firewall.inet_body(vifs, warn, members) + firewall.guest_bridge_lines(bridges)
            + nat.nat_body(vifs))
    bridge = (firewall.bridge_body(vifs, [overlay.prerouting_rule()] if segments else ())
              + overlay.bridge_lines(segments))
    script = []
    for family, body in (("inet", inet), ("bridge", bridge)):
        script += [f"table {family} {table}", f"delete table {family} {table}",
                   f"table {family} {table} {{"]
        script += [f"\t{line}" for line in body]
        script.append("}")
    return "\n".join(script) + "\n"


def removal(table=None):
    """The nft script removing both tables (whether they exist or not)."""
    table = table or table_name()
    return "".join(f"table {family} {table}\ndelete table {family} {table}\n"
                   for family in FAMILIES)


def apply(script):
    commands.run([CONF.network.nft_binary, "-f", "-"], input=script)


def check(script):
    """Let nft parse and validate ``script`` without applying it (``-c``)."""
    commands.run([CONF.network.nft_binary, "-c", "-f", "-"], input=script)


def exists(table=None):
    table = table or table_name()
    out = commands.run([CONF.network.nft_binary, "list", "tables", "inet"], check=False)
    return f"table inet {table}" in out.splitlines()


def remove(table=None):
    apply(removal(table))


def set_changes(changes, table=None):
    """The nft script adding and deleting set elements: ``changes`` is
    [(set name, "add" | "delete", [addresses])]. One transaction: a delete of
    an element the set lacks fails all of it (the caller then re-applies the
    whole table)."""
    table = table or table_name()
    lines = [f"{verb} element inet {table} {name} {{ {', '.join(addresses)} }}"
             for name, verb, addresses in changes if addresses]
    return "\n".join(lines) + "\n" if lines else ""
