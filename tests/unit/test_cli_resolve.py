"""nova-lite CLI: name-or-id decisions."""
import pytest

from nova_lite.cli import errors, resolve

FLAVORS = [{"id": "1", "name": "m1.tiny"}, {"id": "2", "name": "m1.small"},
           {"id": "3", "name": "dup"}, {"id": "4", "name": "dup"},
           {"id": "5", "name": "1"}]


def test_id_wins_over_name():
    assert resolve.pick("flavor", FLAVORS, "1")["name"] == "m1.tiny"


def test_unique_name():
    assert resolve.pick("flavor", FLAVORS, "m1.small")["id"] == "2"


def test_ambiguous_name_lists_the_ids():
    with pytest.raises(errors.CliError) as exc:
        resolve.pick("flavor", FLAVORS, "dup")
    assert str(exc.value) == ("More than one flavor exists with the name 'dup' "
                              "(3, 4); use an ID instead.")


def test_nothing_matches():
    with pytest.raises(errors.CliError) as exc:
        resolve.pick("image", FLAVORS, "M1.TINY")
    assert str(exc.value) == "No image with a name or ID of 'M1.TINY' exists."
    with pytest.raises(errors.CliError):
        resolve.pick("image", [], "x")


class FakeClient:
    """Answers GET by id from ``by_id`` (else the given error status) and lists
    ``items``; records the calls."""

    def __init__(self, by_id, items, status=404):
        self.by_id, self.items, self.status, self.calls = by_id, items, status, []

    def get(self, service, path):
        self.calls.append(("get", path))
        ident = path.rsplit("/", 1)[-1]
        if ident in self.by_id:
            return {"flavor": self.by_id[ident]}
        raise errors.ApiError("nope", self.status, "req-1")

    def collect(self, service, path, key, params=None):
        self.calls.append(("list", path, params))
        return self.items


KIND = resolve.Kind(name="flavor", service="compute", get_path="/flavors/{}",
                    get_key="flavor", list_path="/flavors/detail", list_key="flavors",
                    list_params={"all": "1"}, name_query=lambda name: {"q": name})


def test_find_by_id_does_not_list():
    client = FakeClient({"1": FLAVORS[0]}, FLAVORS)
    assert resolve.find(client, KIND, "1") == FLAVORS[0]
    assert client.calls == [("get", "/flavors/1")]


@pytest.mark.parametrize("status", [404, 400])
def test_find_falls_back_to_the_name(status):
    client = FakeClient({}, FLAVORS, status)
    assert resolve.find(client, KIND, "m1.small")["id"] == "2"
    assert client.calls[-1] == ("list", "/flavors/detail", {"all": "1", "q": "m1.small"})


def test_find_quotes_the_id_in_the_path():
    client = FakeClient({}, [{"id": "x", "name": "a/b c"}])
    resolve.find(client, KIND, "a/b c")
    assert client.calls[0] == ("get", "/flavors/a%2Fb%20c")


def test_find_reports_other_errors():
    client = FakeClient({}, FLAVORS, status=403)
    with pytest.raises(errors.ApiError) as exc:
        resolve.find(client, KIND, "m1.small")
    assert exc.value.status == 403


def test_list_all_without_parameters():
    kind = resolve.Kind(name="image", service="image", get_path="/v2/images/{}",
                        get_key=None, list_path="/v2/images", list_key="images")
    client = FakeClient({}, FLAVORS)
    assert resolve.list_all(client, kind) == FLAVORS
    assert client.calls == [("list", "/v2/images", None)]
