"""Stage 1: the candidate hosts, from one indexed SQL query with a limit.

Two orders ([scheduler] candidate_order):

- ``sample`` (default): the first ``limit`` nodes that are up, enabled and
  have room, walking the primary key from a random node id (wrapping
  around). PostgreSQL reads about ``limit`` rows from the index and stops, so
  the cost does not grow with the number of hosts; the weighers then pick
  the best of the sample (Nomad's scheduler samples the same way).
- ``free_ram``: the ``limit`` nodes with the most free RAM of all. Exact, but
  every query computes and sorts the free RAM of every up node (no index
  can serve that order without a migration), so it costs O(hosts).
"""
import random
import threading
import time

from sqlalchemy import and_, func, select, true

from nova_lite.conf import CONF
from nova_lite.db import allocations, models, services
from nova_lite.scheduler.request import HostState

N = models.ComputeNode
S = models.Service

COLUMNS = (N.id, N.host, N.hypervisor_hostname, N.vcpus, N.vcpus_used, N.memory_mb,
           N.memory_mb_used, N.local_gb, N.local_gb_used, N.cpu_allocation_ratio,
           N.ram_allocation_ratio, N.disk_allocation_ratio, N.reserved_host_memory_mb,
           N.reserved_host_disk_mb, N.host_ip, S.disabled)

_id_range = {"max": None, "at": 0.0}
_id_lock = threading.Lock()


def _eligible(request):
    return (
        select(*COLUMNS)
        .join(S, and_(S.host == N.host, S.binary == "nova-lite-compute"))
        .where(~S.disabled, ~S.forced_down,
               S.last_seen_up >= services.up_since(),
               *allocations.fits(request.vcpus, request.memory_mb, request.disk_gb)))


def _max_id(session):
    """The highest node id, re-read at most every 10 s (nodes are rarely added)."""
    with _id_lock:
        if _id_range["max"] is not None and time.monotonic() - _id_range["at"] < 10:
            return _id_range["max"]
    found = session.scalar(select(func.max(N.id))) or 0
    with _id_lock:
        _id_range.update(max=found, at=time.monotonic())
    return found


def query(session, request, limit=None, order=None, hosts=None, node=None):
    """Nodes that are up, enabled and have room for ``request`` (see the module
    docstring for the two orders); only those of ``hosts`` if given (a forced
    host, an affinity group's, same_host's), only ``node`` if given."""
    limit = limit or CONF.scheduler.max_candidates
    order = order or CONF.scheduler.candidate_order
    if hosts is not None or node is not None:
        query = _eligible(request)
        if hosts is not None:
            query = query.where(N.host.in_(sorted(hosts)))
        if node is not None:
            query = query.where(N.hypervisor_hostname == node)
        rows = session.execute(query.order_by(N.id).limit(limit)).all()
    elif order == "free_ram":
        free_ram = N.memory_mb * N.ram_allocation_ratio - N.reserved_host_memory_mb \
            - N.memory_mb_used
        rows = session.execute(_eligible(request).order_by(free_ram.desc(), N.id)
                               .limit(limit)).all()
    else:
        start = random.randint(0, _max_id(session))
        rows = session.execute(_eligible(request).where(N.id >= start).order_by(N.id)
                               .limit(limit)).all()
        if len(rows) < limit and start > 0:
            rows += session.execute(_eligible(request).where(N.id < start).order_by(N.id)
                                    .limit(limit - len(rows))).all()
    # Plain columns, not ORM entities: this runs once per batch and flavor
    # shape and may return a thousand rows.
    return [HostState(
        node_id=r.id, host=r.host, hypervisor_hostname=r.hypervisor_hostname,
        vcpus=r.vcpus, vcpus_used=r.vcpus_used, memory_mb=r.memory_mb,
        memory_mb_used=r.memory_mb_used, local_gb=r.local_gb, local_gb_used=r.local_gb_used,
        cpu_allocation_ratio=r.cpu_allocation_ratio, ram_allocation_ratio=r.ram_allocation_ratio,
        disk_allocation_ratio=r.disk_allocation_ratio,
        reserved_host_memory_mb=r.reserved_host_memory_mb,
        reserved_host_disk_mb=r.reserved_host_disk_mb,
        host_ip=r.host_ip, service_up=True, service_disabled=r.disabled) for r in rows]


def explain(session, request, chosen, metrics, exclude=()):
    """Add to ``metrics`` why the candidate query left nodes out for
    ``request``: per reason of the ``chosen`` filters that run in SQL too,
    the nodes whose first failed check it is. One aggregate query over every
    node but those in ``exclude`` (the candidates read, whose filters
    counted them), made only for a request that found no host."""
    reasons = []
    required = request.required_hosts()
    if required is not None:
        reasons.append(("were not the host it must go to (forced, its affinity group's "
                        "or same_host's)", N.host.not_in(sorted(required) or [""])))
    if request.force_node is not None:
        reasons.append(("were not the node it was forced to",
                        N.hypervisor_hostname != request.force_node))
    reasons += [r for f in chosen for r in f.sql_reasons(request)]
    if not reasons:
        return
    counts, passed = [], true()
    for _, failing in reasons:
        counts.append(func.count().filter(and_(passed, failing)))
        passed = and_(passed, ~failing)
    query = select(*counts).select_from(N).outerjoin(
        S, and_(S.host == N.host, S.binary == "nova-lite-compute"))
    if exclude:
        query = query.where(N.id.not_in(list(exclude)))
    row = session.execute(query).one()
    for (reason, _), count in zip(reasons, row):
        metrics.add(reason, count)
