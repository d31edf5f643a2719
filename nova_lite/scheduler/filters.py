"""Stage 2: filters. Each takes (host, request) and says whether the host may
take the request. The candidate query already applies the resource checks in
SQL; the filters re-check them on the values it read, and are where rules that
SQL cannot express go."""


def compute_up(host, request):
    return host.service_up and not host.service_disabled


def enough_vcpus(host, request):
    return host.free_vcpus >= request.vcpus


def enough_ram(host, request):
    return host.free_ram_mb >= request.memory_mb


def enough_disk(host, request):
    return host.free_disk_gb >= request.disk_gb


FILTERS = {f.__name__: f for f in (compute_up, enough_vcpus, enough_ram, enough_disk)}


def apply(hosts, request, names):
    unknown = [n for n in names if n not in FILTERS]
    if unknown:
        raise ValueError(f"unknown scheduler filters: {', '.join(unknown)}")
    chosen = [FILTERS[n] for n in names]
    return [h for h in hosts if all(f(h, request) for f in chosen)]
