"""Filters and weighers on plain host values (the SQL stages are tested in
tests/functional/test_scheduler_claims.py against PostgreSQL)."""
import pytest

from nova_lite.scheduler import filters, weighers
from nova_lite.scheduler.request import HostState, Request


def host(node_id, memory_mb=8192, used_mb=0, vcpus=4, used_vcpus=0, disk=100, used_disk=0,
         up=True, disabled=False):
    return HostState(node_id=node_id, host=f"h{node_id}", hypervisor_hostname=f"h{node_id}",
                     vcpus=vcpus, vcpus_used=used_vcpus, memory_mb=memory_mb,
                     memory_mb_used=used_mb, local_gb=disk, local_gb_used=used_disk,
                     cpu_allocation_ratio=1.0, ram_allocation_ratio=1.0,
                     disk_allocation_ratio=1.0, reserved_host_memory_mb=512,
                     reserved_host_disk_mb=0, service_up=up, service_disabled=disabled)


REQUEST = Request(instance_uuid="u", vcpus=2, memory_mb=2048, disk_gb=20)
ALL = ["compute_up", "enough_vcpus", "enough_ram", "enough_disk"]


def test_filters_drop_hosts_that_are_down_disabled_or_full():
    hosts = [host(1), host(2, up=False), host(3, disabled=True), host(4, used_mb=6000),
             host(5, used_vcpus=3), host(6, used_disk=90)]
    assert [h.node_id for h in filters.apply(hosts, REQUEST, ALL)] == [1]


def test_reserved_memory_counts_against_the_host():
    # 2560 MiB total - 512 reserved = 2048 free: fits exactly; one MiB more does not.
    ram = filters.FILTERS["enough_ram"]
    assert ram.check(host(1, memory_mb=2560), REQUEST) is None
    assert ram.check(host(1, memory_mb=2560, used_mb=1), REQUEST) == "had too little RAM"


def test_filters_count_why_they_dropped_each_host():
    hosts = [host(1), host(2, up=False), host(3, disabled=True), host(4, used_mb=6000),
             host(5, used_mb=7000), host(6, used_vcpus=3, used_mb=7000)]
    metrics = filters.Metrics()
    assert [h.node_id for h in filters.apply(hosts, REQUEST, ALL, metrics)] == [1]
    # Each host counts once, under the first filter it failed, in filter order.
    assert metrics.dropped == {"were down": 1, "were disabled": 1, "had too little RAM": 2,
                               "had too few free vCPUs": 1}
    assert metrics.evaluated == 6


def test_metrics_explain_like_nomad():
    metrics = filters.Metrics()
    metrics.add("had too little RAM", 9998)
    metrics.add("were disabled", 2)
    assert metrics.explain() == "9,998 hosts had too little RAM, 2 were disabled"
    one = filters.Metrics()
    one.add("were disabled")
    assert one.explain() == "1 host was disabled"
    assert filters.Metrics().explain() == ""


def test_unknown_filter_is_an_error():
    with pytest.raises(ValueError, match="no_such"):
        filters.apply([host(1)], REQUEST, ["no_such"])


def test_free_ram_weigher_spreads_to_the_emptiest_host():
    hosts = [host(1, used_mb=4000), host(2, used_mb=1000), host(3, used_mb=2000)]
    assert [h.node_id for h in weighers.rank(hosts, REQUEST, ["free_ram"])] == [2, 3, 1]


def test_weighers_are_normalised_and_multiplied():
    # Host 1 has much more free RAM, host 2 more free vCPUs; a big vCPU multiplier wins.
    hosts = [host(1, memory_mb=65536, vcpus=4), host(2, memory_mb=8192, vcpus=64)]
    assert weighers.rank(hosts, REQUEST, ["free_ram", "free_vcpus"])[0].node_id in (1, 2)
    ranked = weighers.rank(hosts, REQUEST, ["free_ram", "free_vcpus"],
                           multipliers={"free_vcpus": 5.0})
    assert ranked[0].node_id == 2
    ranked = weighers.rank(hosts, REQUEST, ["free_ram", "free_vcpus"],
                           multipliers={"free_ram": 5.0})
    assert ranked[0].node_id == 1


def test_equal_hosts_rank_in_a_stable_order():
    hosts = [host(3), host(1), host(2)]
    assert [h.node_id for h in weighers.rank(hosts, REQUEST, ["free_ram"])] == [1, 2, 3]


def grouped(policy, hosts=(), max_per_host=None):
    import collections

    from nova_lite.db.server_groups import GroupState
    return GroupState(1, policy, max_per_host if max_per_host is not None
                      else (1 if policy == "anti-affinity" else None),
                      collections.Counter(hosts))


def names(hosts):
    return [h.host for h in hosts]


EVERY = list(filters.FILTERS)


def test_anti_affinity_drops_hosts_holding_a_member_up_to_max_per_host():
    hosts = [host(1), host(2), host(3)]
    request = Request("u", 1, 512, 1, group=grouped("anti-affinity", ["h1", "h2", "h2"]))
    metrics = filters.Metrics()
    assert names(filters.apply(hosts, request, EVERY, metrics)) == ["h3"]
    assert metrics.dropped == {"already held a member of its server group (anti-affinity)": 2}
    two = Request("u", 1, 512, 1, group=grouped("anti-affinity", ["h1", "h2", "h2"], 2))
    assert names(filters.apply(hosts, two, EVERY)) == ["h1", "h3"]


def test_affinity_goes_where_the_members_are_once_there_are_any():
    hosts = [host(1), host(2)]
    first = Request("u", 1, 512, 1, group=grouped("affinity"))
    assert names(filters.apply(hosts, first, EVERY)) == ["h1", "h2"]
    later = Request("u", 1, 512, 1, group=grouped("affinity", ["h2"]))
    assert names(filters.apply(hosts, later, EVERY)) == ["h2"]
    assert later.required_hosts() == {"h2"}
    # Soft policies never drop a host: they weigh.
    soft = Request("u", 1, 512, 1, group=grouped("soft-affinity", ["h2"]))
    assert names(filters.apply(hosts, soft, EVERY)) == ["h1", "h2"]
    assert names(weighers.rank(hosts, soft, ["server_group_soft_affinity"])) == ["h2", "h1"]
    anti = Request("u", 1, 512, 1, group=grouped("soft-anti-affinity", ["h1"]))
    assert names(weighers.rank(hosts, anti, ["server_group_soft_anti_affinity"])) == \
        ["h2", "h1"]


def test_hints_and_forced_host():
    import ipaddress
    hosts = [host(1), host(2), host(3)]
    for n, h in enumerate(hosts):
        h.host_ip = f"10.0.{n}.5"
    assert names(filters.apply(hosts, Request("u", 1, 512, 1, same_host=frozenset({"h2"})),
                               EVERY)) == ["h2"]
    assert names(filters.apply(hosts, Request("u", 1, 512, 1,
                                              different_host=frozenset({"h2"})),
                               EVERY)) == ["h1", "h3"]
    near = Request("u", 1, 512, 1, near=ipaddress.ip_network("10.0.1.0/24"))
    metrics = filters.Metrics()
    assert names(filters.apply(hosts, near, EVERY, metrics)) == ["h2"]
    assert metrics.explain() == \
        "2 hosts had a host IP outside build_near_host_ip's network"
    forced = Request("u", 1, 512, 1, force_host="h3")
    assert names(filters.apply(hosts, forced, EVERY)) == ["h3"]
    assert forced.required_hosts() == {"h3"}
    assert Request("u", 1, 512, 1).required_hosts() is None
