"""JSON patch on an image's writable document (no database)."""
import types

import pytest

from nova_lite import exception
from nova_lite.api.image import patch, schemas

DOC = {"name": "cirros", "visibility": "shared", "protected": True, "os_hidden": False,
       "min_disk": 1, "min_ram": 64, "disk_format": "qcow2", "container_format": "bare",
       "tags": ["a"], "os_distro": "cirros"}


def test_add_replace_remove():
    result = patch.apply(DOC, [
        {"op": "replace", "path": "/name", "value": "new"},
        {"op": "add", "path": "/hw_disk_bus", "value": "virtio"},
        {"op": "add", "path": "/os_distro", "value": "debian"},
        {"op": "remove", "path": "/min_disk"},
        {"op": "remove", "path": "/tags"},
        {"op": "remove", "path": "/protected"},
        {"op": "remove", "path": "/name"},
    ])
    assert result["hw_disk_bus"] == "virtio" and result["os_distro"] == "debian"
    assert result["min_disk"] == 0 and result["tags"] == [] and result["protected"] is False
    assert result["name"] is None
    assert DOC["name"] == "cirros" and DOC["tags"] == ["a"]       # input untouched


def test_remove_custom_property_and_pointer_escapes():
    result = patch.apply(DOC, [{"op": "remove", "path": "/os_distro"},
                               {"op": "add", "path": "/a~1b~0c", "value": "x"}])
    assert "os_distro" not in result
    assert result["a/b~c"] == "x"


def test_removed_defaults_are_fresh_copies():
    first = patch.apply(DOC, [{"op": "remove", "path": "/tags"}])
    first["tags"].append("leak")
    assert schemas.MUTABLE["tags"] == []


@pytest.mark.parametrize("operations, error", [
    ([{"op": "replace", "path": "/missing", "value": "x"}], exception.Conflict),
    ([{"op": "remove", "path": "/missing"}], exception.Conflict),
    ([{"op": "replace", "path": "/status", "value": "active"}], exception.Forbidden),
    ([{"op": "add", "path": "/owner", "value": "x"}], exception.Forbidden),
    ([{"op": "remove", "path": "/id"}], exception.Forbidden),
    ([{"op": "copy", "from": "/name", "path": "/x"}], exception.Invalid),
    ([{"op": "add", "path": "/a/b", "value": "x"}], exception.Invalid),
    ([{"op": "add", "path": "/", "value": "x"}], exception.Invalid),
    ([{"op": "add", "path": "name", "value": "x"}], exception.Invalid),
    ([{"op": "add", "path": 5, "value": "x"}], exception.Invalid),
    ([{"op": "replace", "path": "/name"}], exception.Invalid),
    (["replace"], exception.Invalid),
    ({"op": "add"}, exception.Invalid),
])
def test_bad_operations(operations, error):
    with pytest.raises(error):
        patch.apply(DOC, operations)


def test_document_and_split_round_trip():
    image = types.SimpleNamespace(
        name="n", visibility="private", protected=False, min_disk=0, min_ram=0,
        disk_format=None, container_format=None, tags=["t"], properties={"k": "v"})
    doc = patch.document(image)
    assert doc["k"] == "v" and doc["os_hidden"] is False
    core, properties = patch.split(doc)
    assert properties == {"k": "v"}
    assert "os_hidden" not in core
    assert core == {"name": "n", "visibility": "private", "protected": False,
                    "min_disk": 0, "min_ram": 0, "disk_format": None,
                    "container_format": None, "tags": ["t"]}
