"""nova-lite CLI: table, json and value output."""
import io
import json

import pytest

from nova_lite.cli import output

COLUMNS = [("ID", "id"), ("Name", "name"), ("Upper", lambda item: item["name"].upper()),
           ("Networks", "addresses")]
ITEMS = [{"id": "1", "name": "web", "addresses": {"private": ["10.0.0.3", "fd00::3"]}},
         {"id": "2", "name": "db", "addresses": {}}]


def render(fmt, call, *args):
    stdout, stderr = io.StringIO(), io.StringIO()
    out = output.Output(fmt, stdout=stdout, stderr=stderr)
    getattr(out, call)(*args)
    assert stderr.getvalue() == ""
    return stdout.getvalue()


@pytest.mark.parametrize("value, text", [
    (None, ""), ("x", "x"), (3, "3"), (True, "True"), ([], ""),
    (["a", "b"], "a, b"),
    ({"private": ["10.0.0.3", "fd00::3"], "public": ["1.2.3.4"]},
     "private=10.0.0.3, fd00::3; public=1.2.3.4"),
    ([{"name": "default"}], "name=default"),
])
def test_human(value, text):
    assert output.human(value) == text


def test_list_as_json_keeps_values_machine_readable():
    data = json.loads(render("json", "list", COLUMNS, ITEMS))
    assert data == [
        {"ID": "1", "Name": "web", "Upper": "WEB",
         "Networks": {"private": ["10.0.0.3", "fd00::3"]}},
        {"ID": "2", "Name": "db", "Upper": "DB", "Networks": {}},
    ]


def test_empty_list():
    assert json.loads(render("json", "list", COLUMNS, [])) == []
    assert render("value", "list", COLUMNS, []) == ""
    assert "Name" in render("table", "list", COLUMNS, [])


def test_list_as_values_one_line_per_item():
    assert render("value", "list", COLUMNS, ITEMS).splitlines() == [
        "1 web WEB private=10.0.0.3, fd00::3", "2 db DB "]


def test_list_as_table():
    text = render("table", "list", COLUMNS, ITEMS)
    lines = text.splitlines()
    assert all(h in lines[1] for h in ("ID", "Name", "Upper", "Networks"))
    assert any("web" in line and "WEB" in line and "10.0.0.3" in line for line in lines)


def test_show_json_is_the_item_itself():
    item = {"name": "web", "flavor": {"id": "1"}}
    display = {"name": "web", "flavor": "m1"}
    assert json.loads(render("json", "show", item, display)) == item


def test_show_value_and_table_use_the_display_sorted():
    item = {"z": 1, "a": {"k": "v"}}
    assert render("value", "show", item).splitlines() == ["k=v", "1"]
    table = render("table", "show", item, {"b": "two", "a": "one"})
    assert "Field" in table and "Value" in table
    assert table.index("one") < table.index("two")


def test_text_is_written_as_is():
    key = "-----BEGIN KEY-----\n" + "A" * 200 + "\n-----END KEY-----"
    assert render("table", "text", key) == key + "\n"


def test_unknown_format():
    with pytest.raises(ValueError):
        output.Output("yaml")
