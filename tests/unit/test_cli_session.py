"""nova-lite CLI: which settings are missing, domains, paging links."""
import pytest

from nova_lite.cli import errors, session


def opts(**kwargs):
    base = dict(auth_url="http://cloud/identity/v3", username="u", password="p",
                project_name="demo")
    base.update(kwargs)
    return session.AuthOptions(**base)


def test_complete_settings():
    assert session.missing_settings(opts()) == []
    assert session.missing_settings(opts(project_name=None, project_id="p1")) == []


def test_missing_auth_url_names_the_variable():
    (problem,) = session.missing_settings(opts(auth_url=None, username=None))
    assert problem.startswith("Missing OS_AUTH_URL")
    assert "--os-auth-url" in problem and "openrc" in problem


def test_missing_credentials_name_every_variable_and_option():
    (problem,) = session.missing_settings(opts(password="", project_name=None))
    assert "OS_PASSWORD" in problem and "OS_PROJECT_NAME (or OS_PROJECT_ID)" in problem
    assert "OS_USERNAME" not in problem
    assert "--os-password" in problem and "--os-project-name" in problem


def test_client_refuses_incomplete_settings():
    with pytest.raises(errors.CliError, match="OS_USERNAME"):
        session.Client(opts(username=None))


def test_domains_default_like_openstackclient():
    assert session._domains(opts()) == {"user_domain_id": "default",
                                        "project_domain_id": "default"}
    assert session._domains(opts(user_domain_name="Users")) == {
        "user_domain_name": "Users", "project_domain_id": "default"}
    assert session._domains(opts(project_name=None, project_id="p")) == {
        "user_domain_id": "default"}
    assert session._domains(opts(project_domain_name="P", user_domain_id="u")) == {
        "user_domain_id": "u", "project_domain_name": "P"}


def test_next_link_nova_style():
    body = {"servers": [{}], "servers_links": [
        {"rel": "prev", "href": "http://x/prev"},
        {"rel": "next", "href": "http://x/compute/v2.1/servers/detail?marker=m"}]}
    assert session.next_link(body, "servers") == \
        "http://x/compute/v2.1/servers/detail?marker=m"


def test_next_link_glance_style():
    body = {"images": [{}], "next": "/v2/images?marker=m", "first": "/v2/images"}
    assert session.next_link(body, "images") == "/v2/images?marker=m"


def test_no_next_link():
    assert session.next_link({"flavors": []}, "flavors") is None
    assert session.next_link({"servers": [], "servers_links": []}, "servers") is None


class PagedClient(session.Client):
    """A Client whose GETs are answered from ``pages`` (url -> body)."""

    def __init__(self, pages):                 # no keystoneauth session at all
        self.pages, self.calls = pages, []

    def get(self, service, path, params=None):
        self.calls.append((path, params))
        return self.pages[path]


PAGES = {
    "/servers/detail": {"servers": [{"id": 1}, {"id": 2}], "servers_links": [
        {"rel": "next", "href": "http://x/servers/detail?marker=2"}]},
    "http://x/servers/detail?marker=2": {"servers": [{"id": 3}], "servers_links": [
        {"rel": "next", "href": "http://x/servers/detail?marker=3"}]},
    "http://x/servers/detail?marker=3": {"servers": []},
}


def test_collect_follows_next_links_with_the_query_only_first():
    client = PagedClient(PAGES)
    items = client.collect("compute", "/servers/detail", "servers", params={"name": "w"})
    assert [i["id"] for i in items] == [1, 2, 3]
    assert client.calls == [("/servers/detail", {"name": "w"}),
                            ("http://x/servers/detail?marker=2", None),
                            ("http://x/servers/detail?marker=3", None)]


def test_collect_one_page_when_asked():
    client = PagedClient(PAGES)
    assert len(client.collect("compute", "/servers/detail", "servers",
                              follow=False)) == 2
    assert len(client.calls) == 1


def test_collect_stops_when_a_link_repeats():
    looping = {"/v2/images": {"images": [{"id": "a"}], "next": "/v2/images"}}
    client = PagedClient(looping)
    assert client.collect("image", "/v2/images", "images") == [{"id": "a"}]
    assert len(client.calls) == 1
