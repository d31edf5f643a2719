"""Printing results as a table (rich), JSON (for scripts) or bare values, the
way python-openstackclient's ``-f table|json|value`` does. Lists print one row
per item under column headings; single items print field/value pairs. JSON keeps
values machine-readable (dicts stay dicts); table and value flatten them."""
import json
import sys

from rich import box
from rich.console import Console
from rich.table import Table

FORMATS = ("table", "json", "value")


def human(value):
    """A value as one readable string: ``None`` -> '', lists comma-joined,
    dicts as ``key=value`` pairs (``net=10.0.0.3, fd00::3; other=...``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(human(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}={human(v)}" for k, v in value.items())
    return str(value)


def cell(item, column):
    """The value of ``column`` for ``item``: a column is ``(heading, key)``
    where key is a field name or a function of the item."""
    _, key = column
    return key(item) if callable(key) else item.get(key)


def rows(columns, items):
    return [[cell(item, c) for c in columns] for item in items]


def list_as_json(headings, table_rows):
    return json.dumps([dict(zip(headings, row)) for row in table_rows], indent=4)


def list_as_values(table_rows):
    return "\n".join(" ".join(human(v) for v in row) for row in table_rows)


def item_as_values(item):
    return "\n".join(human(v) for v in item.values())


def list_table(headings, table_rows):
    table = Table(box=box.SQUARE, show_lines=False)
    for heading in headings:
        table.add_column(heading, overflow="fold")
    for row in table_rows:
        table.add_row(*(human(v) for v in row))
    return table


def item_table(item):
    return list_table(["Field", "Value"], [[k, v] for k, v in item.items()])


class Output:
    """Where results go (stdout) and where progress and notes go (stderr)."""

    def __init__(self, fmt="table", stdout=None, stderr=None):
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}")
        self.format = fmt
        self.console = Console(file=stdout or sys.stdout, highlight=False)
        self.err = Console(file=stderr or sys.stderr, highlight=False)

    def text(self, text):
        """Plain text to stdout, exactly as given (no wrapping, no markup)."""
        self.console.out(text, highlight=False)

    def note(self, text):
        """A human note on stderr (never mixed into machine output)."""
        self.err.print(text, markup=False, soft_wrap=True)

    def list(self, columns, items):
        headings = [heading for heading, _ in columns]
        table_rows = rows(columns, items)
        if self.format == "json":
            self.text(list_as_json(headings, table_rows))
        elif self.format == "value":
            if table_rows:
                self.text(list_as_values(table_rows))
        else:
            self.console.print(list_table(headings, table_rows))

    def show(self, item, display=None):
        """One item: ``item`` as JSON, or ``display`` (default ``item``, sorted
        by field) as a Field/Value table or one value per line."""
        if self.format == "json":
            self.text(json.dumps(item, indent=4))
            return
        shown = dict(sorted((display if display is not None else item).items()))
        if self.format == "value":
            self.text(item_as_values(shown))
        else:
            self.console.print(item_table(shown))
