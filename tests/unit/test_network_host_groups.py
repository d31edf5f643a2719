"""A host's record of a remote group's members (nova_lite.network.host.groups):
messages come in any order, so every entry carries the pass that read it and
an older one never undoes a newer one; a whole set replaces only what is
older than itself. And what the firewall makes of a remote group: a set."""
from nova_lite.network.host import firewall, groups, model
from tests.fixtures import network_info as ni

GROUP = "5e1f0c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b"


def test_adds_and_removes_say_what_the_sets_gain_and_lose():
    record = groups.new_record()
    assert groups.update(record, 1, add=["10.0.0.5", "10.0.0.6/32"]) == (
        ["10.0.0.5", "10.0.0.6"], [])
    assert groups.update(record, 2, add=["10.0.0.5"], remove=["10.0.0.6"]) == ([],
                                                                            ["10.0.0.6"])
    assert sorted(record["members"]) == ["10.0.0.5"]


def test_an_older_pass_never_undoes_a_newer_one():
    record = groups.new_record()
    groups.update(record, 5, remove=["10.0.0.5"])          # arrives first
    assert groups.update(record, 4, add=["10.0.0.5"]) == ([], [])
    assert record["members"] == {}
    groups.update(record, 7, add=["10.0.0.6"])
    assert groups.update(record, 6, remove=["10.0.0.6"]) == ([], [])
    assert record["members"] == {"10.0.0.6": 7}


def test_a_whole_set_replaces_what_is_older_and_keeps_what_is_newer():
    record = groups.new_record()
    groups.update(record, 3, add=["10.0.0.1", "10.0.0.2"])
    groups.update(record, 9, add=["10.0.0.9"])              # newer than the set below
    added, removed = groups.replace(record, 5, ["10.0.0.2", "10.0.0.3"])
    assert (sorted(added), sorted(removed)) == (["10.0.0.3"], ["10.0.0.1"])
    assert sorted(record["members"]) == ["10.0.0.2", "10.0.0.3", "10.0.0.9"]
    # a late add from before the set is older than the removal the set made
    assert groups.update(record, 4, add=["10.0.0.1"]) == ([], [])


def test_removals_are_forgotten_after_a_while():
    record = groups.new_record()
    groups.update(record, 1, remove=["10.0.0.5"])
    groups.update(record, 1 + groups.GONE_PASSES + 1, add=["10.0.0.6"])
    assert record["gone"] == {}


def test_set_names_are_nft_identifiers_per_family():
    assert groups.set_name(GROUP, 4) == "g4_5e1f0c2a3b4d4e5f8a9b0c1d2e3f4a5b"
    assert groups.set_name(GROUP, 6).startswith("g6_")


def test_a_remote_group_rule_matches_its_set_and_the_sets_are_declared():
    vifs = model.parse([ni.vif(["10.0.0.5"], [ni.subnet("10.0.0.0/24")], rules=[
        ni.rule(protocol="tcp", port_range_min=22, port_range_max=22,
                remote_group_id=GROUP),
        ni.rule(direction="egress", ethertype="IPv6", remote_group_id=GROUP)])])
    name4, name6 = groups.set_name(GROUP, 4), groups.set_name(GROUP, 6)
    assert firewall.rule_statement(vifs[0].rules[0]) == \
        f"ip saddr @{name4} tcp dport 22 return"
    assert firewall.rule_statement(vifs[0].rules[1]) == f"ip6 daddr @{name6} return"
    assert firewall.remote_groups(vifs) == {GROUP}
    text = "\n".join(firewall.inet_body(vifs, members={GROUP: ["10.0.0.7", "fd00::7"]}))
    assert f"set {name4} {{\n\ttype ipv4_addr\n\telements = {{ 10.0.0.7 }}\n}}" in text
    assert f"set {name6} {{\n\ttype ipv6_addr\n\telements = {{ fd00::7 }}\n}}" in text


def test_set_changes_delete_then_add_in_one_script():
    from nova_lite.network.host import nftables
    script = nftables.set_changes([("g4_x", "delete", ["10.0.0.1"]),
                                   ("g4_x", "add", ["10.0.0.2", "10.0.0.3"]),
                                   ("g6_x", "add", [])], table="t")
    assert script == ("delete element inet t g4_x { 10.0.0.1 }\n"
                      "add element inet t g4_x { 10.0.0.2, 10.0.0.3 }\n")
