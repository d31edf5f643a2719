"""nova-lite CLI: the command line (global options, commands, option types)."""
import argparse

import pytest

from nova_lite.cli import flavors, images, keypairs, main, parsing, servers, session

ENV = {"OS_AUTH_URL": "http://cloud/identity/v3", "OS_USERNAME": "alice",
       "OS_PASSWORD": "secret", "OS_PROJECT_NAME": "demo",
       "OS_USER_DOMAIN_NAME": "Default", "OS_REGION_NAME": "RegionOne"}


def parse(argv, environ=ENV):
    return main.build_parser(environ).parse_args(argv)


def test_environment_supplies_the_auth_options():
    opts = session.AuthOptions.from_args(parse(["flavor", "list"]))
    assert opts.auth_url == "http://cloud/identity/v3"
    assert (opts.username, opts.password) == ("alice", "secret")
    assert opts.project_name == "demo"
    assert opts.user_domain_name == "Default" and opts.region_name == "RegionOne"
    assert opts.interface == "public" and opts.insecure is False


def test_options_override_the_environment():
    args = parse(["--os-username", "bob", "--os-project-id", "p1", "--os-interface",
                  "internal", "--insecure", "flavor", "list"])
    opts = session.AuthOptions.from_args(args)
    assert opts.username == "bob" and opts.project_id == "p1"
    assert opts.interface == "internal" and opts.insecure is True


@pytest.mark.parametrize("value, insecure", [("true", True), ("1", True),
                                             ("False", False), ("", False)])
def test_os_insecure_variable(value, insecure):
    args = parse(["flavor", "list"], {**ENV, "OS_INSECURE": value})
    assert session.AuthOptions.from_args(args).insecure is insecure


def test_server_create():
    args = parse(["server", "create", "web", "--flavor", "m1.tiny", "--image", "cirros",
                  "--key-name", "k", "--property", "a=1", "--property", "b=x=y",
                  "--min", "2", "--max", "3", "--wait", "--timeout", "30", "-f", "json"])
    assert args.func is servers.create_server
    assert (args.name, args.flavor, args.image, args.key_name) == \
        ("web", "m1.tiny", "cirros", "k")
    assert args.property == [("a", "1"), ("b", "x=y")]
    assert (args.min, args.max, args.wait, args.timeout) == (2, 3, True, 30.0)
    assert args.format == "json"


def test_server_create_defaults():
    args = parse(["server", "create", "web", "--flavor", "1", "--image", "i"])
    assert (args.min, args.max, args.wait, args.property) == (None, None, False, [])
    assert args.timeout == servers.DEFAULT_TIMEOUT and args.format == "table"


@pytest.mark.parametrize("argv", [
    ["server", "create", "web", "--image", "i"],                  # no flavor
    ["server", "create", "web", "--flavor", "1", "--image", "i", "--property", "novalue"],
    ["server", "create", "web", "--flavor", "1", "--image", "i", "--min", "0"],
    ["server", "create", "web", "--flavor", "1", "--image", "i", "--timeout", "-1"],
    ["server", "list", "--limit", "many"],
    ["server", "list", "-f", "yaml"],
    ["server", "delete"],
    ["server"],
    ["keypair", "create", "k", "--public-key", "a", "--private-key", "b"],
    ["image", "create", "i", "--file", "f", "--public", "--private"],
    ["image", "create", "i"],
    [],
])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        parse(argv)
    assert exc.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_server_list_and_delete():
    args = parse(["server", "list", "--long", "--name", "^web", "--status", "ACTIVE",
                  "--limit", "5", "--all-projects", "-n"])
    assert args.func is servers.list_servers
    assert (args.long, args.name, args.status, args.limit) == (True, "^web", "ACTIVE", 5)
    assert args.all_projects and args.no_name_lookup
    args = parse(["server", "delete", "a", "b", "--wait"])
    assert args.func is servers.delete_servers
    assert args.servers == ["a", "b"] and args.wait
    assert parse(["server", "show", "a", "-f", "value"]).server == "a"


def test_other_commands():
    assert parse(["flavor", "list", "--all"]).all is True
    assert parse(["flavor", "list"]).func is flavors.list_flavors
    args = parse(["image", "create", "cirros", "--file", "/tmp/c.img", "--public",
                  "--property", "os_distro=cirros"])
    assert args.func is images.create_image
    assert (args.disk_format, args.container_format, args.public) == \
        ("qcow2", "bare", True)
    assert args.property == [("os_distro", "cirros")]
    assert parse(["image", "list"]).func is images.list_images
    args = parse(["keypair", "create", "k", "--private-key", "/tmp/k"])
    assert args.func is keypairs.create_keypair and args.private_key == "/tmp/k"
    assert parse(["keypair", "list", "-f", "value"]).format == "value"


@pytest.mark.parametrize("text, pair", [("a=b", ("a", "b")), ("a=", ("a", "")),
                                        ("a=b=c", ("a", "b=c"))])
def test_key_value(text, pair):
    assert parsing.key_value(text) == pair


@pytest.mark.parametrize("text", ["ab", "=b", ""])
def test_key_value_rejects(text):
    with pytest.raises(argparse.ArgumentTypeError):
        parsing.key_value(text)


def test_run_prints_one_error_line_and_returns_1(capsys):
    args = parse(["flavor", "list"], environ={})
    assert main.run(args, None) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: Missing OS_AUTH_URL") and err.count("\n") == 1


def test_run_hides_unexpected_tracebacks_unless_debugging(capsys):
    def broken(client, out, args):
        raise ValueError("bad thing")

    args = parse(["flavor", "list"])
    args.func = broken
    assert main.run(args, None) == 1
    assert capsys.readouterr().err == ("Error: unexpected ValueError: bad thing "
                                       "(run with --debug for the traceback)\n")
    args.debug = True
    with pytest.raises(ValueError):
        main.run(args, None)
