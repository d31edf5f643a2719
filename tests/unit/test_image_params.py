"""GET /image/v2/images query strings -> filters and sort order (no database)."""
import pytest
from werkzeug.datastructures import MultiDict

from nova_lite import exception
from nova_lite.api.image import params


def test_filters():
    filters = params.filters(MultiDict([
        ("name", "cirros"), ("status", "active"), ("visibility", "public"),
        ("owner", "p1"), ("tag", "a"), ("tag", "b"), ("protected", "true"),
        ("size_min", "1"), ("size_max", "9"), ("limit", "5"), ("marker", "m"),
        ("sort_key", "name"), ("hw_disk_bus", "virtio"), ("id", "ABC")]))
    assert filters.names == ("cirros",) and filters.statuses == ("active",)
    assert filters.visibility == "public" and filters.owner == "p1"
    assert filters.tags == ("a", "b") and filters.protected is True
    assert (filters.size_min, filters.size_max) == (1, 9)
    assert filters.properties == {"hw_disk_bus": "virtio"}
    assert filters.ids == ("abc",)
    assert not filters.nothing


def test_visibility_all_and_hidden():
    assert params.filters(MultiDict([("visibility", "all")])).visibility is None
    assert params.filters(MultiDict([("os_hidden", "false")])).nothing is False
    assert params.filters(MultiDict([("os_hidden", "true")])).nothing is True
    assert params.filters(MultiDict([("member_status", "pending")])).nothing is True


@pytest.mark.parametrize("pairs", [
    [("status", "happy")], [("visibility", "everyone")], [("protected", "maybe")],
    [("size_min", "-1")], [("size_max", "lots")], [("name", "a\x00b")],
    [("a\x00b", "x")], [("created_at", "gte:2020-01-01T00:00:00Z")],
    [("member_status", "bogus")],
])
def test_bad_filters(pairs):
    with pytest.raises(exception.Invalid):
        params.filters(MultiDict(pairs))


def test_sort():
    assert params.sort(MultiDict()) == [("created_at", "desc")]
    assert params.sort(MultiDict([("sort_key", "name"), ("sort_key", "size"),
                                  ("sort_dir", "asc")])) == [("name", "asc"), ("size", "asc")]
    assert params.sort(MultiDict([("sort_key", "name"), ("sort_key", "size"),
                                  ("sort_dir", "asc"), ("sort_dir", "desc")])) == \
        [("name", "asc"), ("size", "desc")]
    assert params.sort(MultiDict([("sort", "name:asc, status")])) == \
        [("name", "asc"), ("status", "desc")]


@pytest.mark.parametrize("pairs", [
    [("sort_key", "password")], [("sort_dir", "up")],
    [("sort_key", "name"), ("sort_key", "size"), ("sort_dir", "asc"),
     ("sort_dir", "desc"), ("sort_dir", "asc")],
    [("sort", "name:sideways")], [("sort", "name"), ("sort_key", "name")],
])
def test_bad_sort(pairs):
    with pytest.raises(exception.Invalid):
        params.sort(MultiDict(pairs))


def test_in_operator_lists_ids_and_names():
    from werkzeug.datastructures import MultiDict

    from nova_lite.api.image import params as image_params
    result = image_params.filters(MultiDict([
        ("id", "in:3F2504E0-4F89-11D3-9A0C-0305E82C3301,6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
        ("name", 'in:"a, b",c')]))
    assert result.ids == ("3f2504e0-4f89-11d3-9a0c-0305e82c3301",
                          "6ba7b810-9dad-11d1-80b4-00c04fd430c8")
    assert result.names == ("a, b", "c")
