"""Stage 2: filters. Each is a small class whose ``check(host, request)``
returns None if the host may take the request, else why not: a phrase that
completes "<n> hosts ..." ("had too little RAM"). ``apply`` runs the enabled
ones in order ([scheduler] enabled_filters) and counts, per reason, the hosts
each dropped (Nomad's allocation metrics), so a request that finds no host
can say why.

The resource and service checks (``compute_up``, ``enough_*``) also run in
SQL, in the candidate query, so a host they would drop is usually never read;
they re-check here the usage the batch tracks as it assigns instances. Their
``sql_reasons`` say, as SQL conditions, why the candidate query left a node
out, so that a request that found no host counts those too
(candidates.explain). Rules SQL cannot express (server groups, hints) are
filters only."""
import collections
import ipaddress

from nova_lite.db import allocations, models, services

N = models.ComputeNode
S = models.Service


class Filter:
    name = ""

    def applies(self, request):
        """Whether this filter can drop any host for ``request`` (asked once
        per request, so that those that cannot cost nothing per host)."""
        return True

    def check(self, host, request):
        """None if ``host`` may take ``request``, else the reason it may not."""
        raise NotImplementedError

    def sql_reasons(self, request):
        """[(reason, SQL condition true when a node fails this filter)], for
        the filters the candidate query applies too."""
        return []


class ComputeUp(Filter):
    """The host's compute service is up and enabled."""
    name = "compute_up"

    def check(self, host, request):
        if not host.service_up:
            return "were down"
        if host.service_disabled:
            return "were disabled"
        return None

    def sql_reasons(self, request):
        down = (S.id.is_(None) | S.forced_down | S.last_seen_up.is_(None)
                | (S.last_seen_up < services.up_since()))
        return [("were down", down), ("were disabled", S.disabled)]


class _Enough(Filter):
    index = 0               # into allocations.capacity's tuple (vcpus, RAM, disk)
    reason = ""

    def sql_reasons(self, request):
        return [(self.reason, ~allocations.fits(request.vcpus, request.memory_mb,
                                                 request.disk_gb)[self.index])]


class EnoughVcpus(_Enough):
    name, index, reason = "enough_vcpus", 0, "had too few free vCPUs"

    def check(self, host, request):
        return self.reason if host.free_vcpus < request.vcpus else None


class EnoughRam(_Enough):
    name, index, reason = "enough_ram", 1, "had too little RAM"

    def check(self, host, request):
        return self.reason if host.free_ram_mb < request.memory_mb else None


class EnoughDisk(_Enough):
    name, index, reason = "enough_disk", 2, "had too little disk"

    def check(self, host, request):
        return self.reason if host.free_disk_gb < request.disk_gb else None


class ServerGroupAffinity(Filter):
    """A member of an affinity group goes where its members are (Nova's
    ServerGroupAffinityFilter); the claim re-checks it under the group's lock."""
    name = "server_group_affinity"
    reason = "were not the host of its server group's members (affinity)"

    def applies(self, request):
        return request.group is not None and request.group.policy == "affinity"

    def check(self, host, request):
        group = request.group
        if group is None or group.policy != "affinity" or not group.hosts \
                or host.host in group.hosts:
            return None
        return self.reason


class ServerGroupAntiAffinity(Filter):
    """A member of an anti-affinity group goes to a host holding fewer than
    max_server_per_host (1) of its members; the claim re-checks it."""
    name = "server_group_anti_affinity"
    reason = "already held a member of its server group (anti-affinity)"

    def applies(self, request):
        return request.group is not None and request.group.policy == "anti-affinity"

    def check(self, host, request):
        group = request.group
        if group is None or group.policy != "anti-affinity" \
                or group.hosts[host.host] < group.max_per_host:
            return None
        return self.reason


class SameHost(Filter):
    """Hint ``same_host``: on the host of one of those servers."""
    name = "same_host"
    reason = "held none of the same_host servers"

    def applies(self, request):
        return request.same_host is not None

    def check(self, host, request):
        if request.same_host is None or host.host in request.same_host:
            return None
        return self.reason


class DifferentHost(Filter):
    """Hint ``different_host``: on no host of those servers."""
    name = "different_host"
    reason = "held a different_host server"

    def applies(self, request):
        return bool(request.different_host)

    def check(self, host, request):
        return self.reason if host.host in request.different_host else None


class SimpleCidr(Filter):
    """Hints ``build_near_host_ip`` and ``cidr``: a host whose IP is in that
    network (Nova's SimpleCIDRAffinityFilter)."""
    name = "simple_cidr"
    reason = "had a host IP outside build_near_host_ip's network"

    def applies(self, request):
        return request.near is not None

    def check(self, host, request):
        if request.near is None:
            return None
        try:
            if host.host_ip and ipaddress.ip_address(host.host_ip) in request.near:
                return None
        except ValueError:
            pass
        return self.reason


class ForcedHost(Filter):
    """An admin's availability_zone ``zone:host[:node]``: that host (node)."""
    name = "forced_host"
    reason = "were not the forced host"

    def applies(self, request):
        return request.force_host is not None or request.force_node is not None

    def check(self, host, request):
        if request.force_host is not None and host.host != request.force_host:
            return self.reason
        if request.force_node is not None and host.hypervisor_hostname != request.force_node:
            return self.reason
        return None


FILTERS = {f.name: f for f in (ComputeUp(), EnoughVcpus(), EnoughRam(), EnoughDisk(),
                                ServerGroupAffinity(), ServerGroupAntiAffinity(), SameHost(),
                                DifferentHost(), SimpleCidr(), ForcedHost())}


def enabled(names):
    """The filter objects named, in order."""
    unknown = [n for n in names if n not in FILTERS]
    if unknown:
        raise ValueError(f"unknown scheduler filters: {', '.join(unknown)}")
    return [FILTERS[n] for n in names]


class Metrics:
    """Why hosts were dropped while placing one request: {reason: hosts}."""

    explained = False       # the nodes the candidate query left out are counted

    def __init__(self):
        self.evaluated = 0
        self.dropped = collections.Counter()

    def add(self, reason, count=1):
        if count:
            self.dropped[reason] += count

    def explain(self):
        """'9,998 hosts had too little RAM, 2 were disabled' (biggest first)."""
        parts = []
        for n, (reason, count) in enumerate(sorted(self.dropped.items(),
                                                   key=lambda kv: -kv[1])):
            if count == 1:
                reason = reason.replace("were ", "was ", 1)
            noun = ("host" if count == 1 else "hosts") if n == 0 else ""
            parts.append(" ".join(p for p in (f"{count:,}", noun, reason) if p))
        return ", ".join(parts)


def apply(hosts, request, chosen, metrics=None):
    """The hosts passing every filter of ``chosen`` (names or Filter objects),
    counting in ``metrics`` why the others were dropped (the first filter
    each failed)."""
    chosen = enabled(chosen) if chosen and isinstance(chosen[0], str) else chosen
    chosen = [f for f in chosen if f.applies(request)]
    passing = []
    for host in hosts:
        for f in chosen:
            reason = f.check(host, request)
            if reason is not None:
                if metrics is not None:
                    metrics.add(reason)
                break
        else:
            passing.append(host)
    if metrics is not None:
        metrics.evaluated += len(hosts)
    return passing
