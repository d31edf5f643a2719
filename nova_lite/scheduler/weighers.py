"""Stage 3: weighers. Each gives a raw number per host (bigger is better); the
pipeline normalises every weigher to 0..1 across the candidates, multiplies it
by its multiplier and sums, so no single weigher dominates by its units."""


def free_ram(host, request):
    """Spread: prefer the host with the most free RAM (Nova's RAMWeigher)."""
    return host.free_ram_mb


def free_vcpus(host, request):
    return host.free_vcpus


def server_group_soft_affinity(host, request):
    """soft-affinity: prefer the hosts holding more of the group's members."""
    group = request.group
    return group.hosts[host.host] if group is not None and group.policy == "soft-affinity" \
        else 0


def server_group_soft_anti_affinity(host, request):
    """soft-anti-affinity: prefer the hosts holding fewer of its members."""
    group = request.group
    return -group.hosts[host.host] if group is not None \
        and group.policy == "soft-anti-affinity" else 0


def _has_group(request):
    return request.group is not None


server_group_soft_affinity.applies = _has_group
server_group_soft_anti_affinity.applies = _has_group

WEIGHERS = {w.__name__: w for w in (free_ram, free_vcpus, server_group_soft_affinity,
                                    server_group_soft_anti_affinity)}


def normalise(values):
    low, high = min(values), max(values)
    if high == low:
        return [0.0 for _ in values]
    return [(v - low) / (high - low) for v in values]


def rank(hosts, request, names, multipliers=None):
    """Hosts best-first by the weighted sum of the named weighers."""
    unknown = [n for n in names if n not in WEIGHERS]
    if unknown:
        raise ValueError(f"unknown scheduler weighers: {', '.join(unknown)}")
    if not hosts:
        return []
    multipliers = multipliers or {}
    totals = [0.0] * len(hosts)
    for name in names:
        weigher = WEIGHERS[name]
        applies = getattr(weigher, "applies", None)
        if applies is not None and not applies(request):
            continue            # the same for every host: it would add nothing
        raw = [weigher(h, request) for h in hosts]
        for i, value in enumerate(normalise(raw)):
            totals[i] += value * multipliers.get(name, 1.0)
    order = sorted(range(len(hosts)), key=lambda i: (-totals[i], hosts[i].node_id))
    return [hosts[i] for i in order]
