"""Scheduling in batches: the requests that arrive together are placed together.

    handler threads (one per schedule_instance(s) message, up to [scheduler] batch_size)
        │ submit(uuid) / submit_many(a multi-create's uuids) and wait
        v
    Batcher thread: gathers up to batch_size requests, waiting at most batch_wait
        │
        ├─ one query: the requested instances (+ one for multi-create siblings)
        ├─ per round (up to max_claim_attempts):
        │     one candidate query per flavor shape (SQL, limit)
        │     assign in Python, per instance (pipeline.choose): filters ->
        │       weighers -> a random one of the host_subset_size best, usage
        │       tracked as instances are assigned; the filters count the hosts
        │       they drop, per reason
        │     one claim transaction for the whole round (db/claims.claim_batch)
        │     instances whose node filled up meanwhile go to the next round, and
        │       so do those with no host, if the round counted room for claims
        │       that did not happen (else they fail: 'No valid host was found.
        │       9,998 hosts had too little RAM, 2 were disabled.', the nodes the
        │       candidate query left out counted by one query, candidates.explain)
        └─ each handler gets its message back (build_and_run_instance to the
           host, or schedule_failed) and casts it itself, so its delivery is
           acknowledged only once that cast is confirmed

A multi-create (instances sharing a reservation id, written by one API
request) is placed all or nothing, as in Nova: the API sends one
schedule_instances message for all of them, whose handler submits them
together; a batch that holds only some of them (a request larger than
batch_size, or the per-instance messages of an older API or of the
reconciler) brings every sibling still waiting in with it. If one of them
cannot be placed, none is, and all fail with 'No valid host'. A request for
an instance that is no longer waiting to be scheduled (a sibling placed with
the others, a duplicate, a redelivery) does nothing: re-sending a placed
instance's build is the reconciler's alone, so it happens once."""
import collections
import dataclasses
import datetime
import ipaddress
import logging
import random
import threading
import time

from sqlalchemy import exc as sa_exc
from sqlalchemy import select

from nova_lite.conf import CONF
from nova_lite.db import claims, models, server_groups, services
from nova_lite.db.session import reader, transaction
from nova_lite.network import info as network_info
from nova_lite.objects import payloads, states
from nova_lite.rpc import casts
from nova_lite.rpc import envelope as envelope_mod
from nova_lite.rpc import publisher as publisher_mod
from nova_lite.scheduler import candidates, filters, pipeline
from nova_lite.scheduler.request import Request

LOG = logging.getLogger(__name__)
I = models.Instance
R = models.RequestSpec
NO_VALID_HOST = "No valid host was found. "
RETRYABLE_PGCODES = ("40P01", "40001")      # deadlock detected, serialization failure
SIBLING_WINDOW = datetime.timedelta(seconds=5)


@dataclasses.dataclass
class _Item:
    uuid: str
    context: dict
    done: threading.Event = dataclasses.field(default_factory=threading.Event)
    result: object = None
    error: BaseException | None = None


class Batcher:
    """Collects requests from handler threads and runs ``process`` on batches."""

    def __init__(self, process, size=None, wait=None):
        self.process = process
        self.size = size or CONF.scheduler.batch_size
        self.wait = CONF.scheduler.batch_wait if wait is None else wait
        self._items = collections.deque()
        self._cond = threading.Condition()
        self._thread = None
        self.batches = 0
        self.requests = 0

    def submit(self, uuid, context):
        return self.submit_many([uuid], context)[0]

    def submit_many(self, uuids, context):
        """Queue these requests together (one multi-create's message) and wait
        for their batches; their results in order."""
        items = [_Item(uuid, dict(context or {})) for uuid in uuids]
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="scheduler-batch",
                                                daemon=True)
                self._thread.start()
            self._items.extend(items)
            self._cond.notify()
        for item in items:
            item.done.wait()
        for item in items:
            if item.error is not None:
                raise item.error
        return [item.result for item in items]

    def _take(self):
        with self._cond:
            while not self._items:
                self._cond.wait()
            deadline = time.monotonic() + self.wait
            while len(self._items) < self.size:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return [self._items.popleft() for _ in range(min(self.size, len(self._items)))]

    def _run(self):
        while True:
            items = self._take()
            self.batches += 1
            self.requests += len(items)
            try:
                results = self.process([(i.uuid, i.context) for i in items])
                for item in items:
                    item.result = results.get(item.uuid)
            except Exception as exc:  # noqa: BLE001 - every waiting handler retries
                LOG.exception("scheduling a batch of %d failed", len(items))
                for item in items:
                    item.error = exc
            finally:
                for item in items:
                    item.done.set()


# -- the pipeline for a batch ---------------------------------------------------------
def _shape(row):
    return (row.vcpus, row.memory_mb, row.root_gb + row.ephemeral_gb)


def _maybe_multi(row):
    """Could this instance have siblings from the same request? Multi-create
    names them <name>-1, <name>-2, ... (launch_index 0, 1, ...)."""
    return row.launch_index > 0 or (row.name or "").endswith("-1")


def _payloads(placed, rows, placements):
    """Build payloads of the placed instances from their rows as the batch
    loaded them (the claim changed only their host and node) and their
    network_info, in one batched lookup."""
    if not placed:
        return {}
    where = {p.instance_uuid: (p.host, p.node) for p in placements}
    with reader() as session:
        nets = network_info.for_instances(session, list(placed))
    return {u: payloads.instance_payload(rows[u], network_info=nets[u], placed_on=where[u])
            for u in placed}


def _load(uuids):
    """The requested instances, the multi-create siblings still waiting, and
    their request specs (group, hints, forced host: an outer join, so a batch
    without any costs no statement more)."""
    specs = {}

    def rows_of(query):
        found = []
        for row, spec in session.execute(query.outerjoin(R, R.instance_uuid == I.uuid)).all():
            found.append(row)
            if spec is not None:
                specs[row.uuid] = spec
        return found

    with reader() as session:
        rows = rows_of(select(I, R).where(I.uuid.in_(uuids)))
        waiting = [r for r in rows if not r.deleted and r.task_state == states.SCHEDULING
                   and r.vm_state == states.BUILDING and r.host is None]
        multi = [r for r in waiting if _maybe_multi(r)]
        siblings = []
        if multi:
            siblings = rows_of(select(I, R).where(
                I.project_id.in_({r.project_id for r in multi}), ~I.deleted,
                I.created_at >= min(r.created_at for r in multi) - SIBLING_WINDOW,
                I.created_at <= max(r.created_at for r in multi) + SIBLING_WINDOW,
                I.reservation_id.in_({r.reservation_id for r in multi}),
                I.task_state == states.SCHEDULING, I.host.is_(None),
                I.uuid.not_in(uuids)))
        up = services.any_compute_up(session) if waiting else True
    return rows, siblings, up, specs


@dataclasses.dataclass
class Round:
    """One round's stage 1: each pending instance's Request, and the
    candidates read for each candidate key (flavor shape, and the hosts a
    request is restricted to: forced, its affinity group's, same_host's)."""
    requests: dict                  # uuid -> Request
    keys: dict                      # uuid -> its candidate key (as the round began)
    hosts: dict                     # candidate key -> [HostState]
    group_of: dict                  # uuid -> id of its hard-policy server group


def _requests(session, pending, specs):
    """{uuid: Request}, with the server groups as they are now (one query if
    any instance has a group) and the hosts of same_host/different_host
    servers (one query if any asks)."""
    group_ids = {s.group_id for u, s in specs.items() if u in pending and s.group_id}
    groups_now = server_groups.states(session, group_ids)
    named = {v for u, s in specs.items() if u in pending
             for key in ("same_host", "different_host") for v in s.hints.get(key, ())}
    host_of = {}
    if named:
        host_of = dict(session.execute(select(I.uuid, I.host).where(
            I.uuid.in_(named), ~I.deleted, I.host.is_not(None))).all())
    result = {}
    for uuid, row in pending.items():
        spec = specs.get(uuid)
        extra = {}
        if spec is not None:
            hints = spec.hints or {}
            near = None
            if hints.get("build_near_host_ip"):
                near = ipaddress.ip_network(
                    f"{hints['build_near_host_ip']}{hints.get('cidr', '/24')}", strict=False)
            extra = dict(
                group=groups_now.get(spec.group_id),
                same_host=(frozenset(host_of[u] for u in hints["same_host"] if u in host_of)
                           if "same_host" in hints else None),
                different_host=frozenset(host_of[u] for u in hints.get("different_host", ())
                                         if u in host_of),
                near=near, force_host=spec.force_host, force_node=spec.force_node)
        result[uuid] = Request(instance_uuid=uuid, vcpus=row.vcpus, memory_mb=row.memory_mb,
                               disk_gb=row.root_gb + row.ephemeral_gb,
                               availability_zone=row.availability_zone, **extra)
    return result


def _key(request):
    return ((request.vcpus, request.memory_mb, request.disk_gb), request.required_hosts(),
            request.force_node)


def _candidates(pending, specs=None):
    """Stage 1 for the batch: one candidate query per candidate key (flavor
    shape, for most requests)."""
    specs = specs or {}
    subset = CONF.scheduler.host_subset_size
    nodes = {}
    hosts = {}
    with reader() as session:
        requests = _requests(session, pending, specs)
        keys = {uuid: _key(r) for uuid, r in requests.items()}
        for key, count in collections.Counter(keys.values()).items():
            shape, required, node = key
            limit = min(CONF.scheduler.max_candidates, max(2 * count, 4 * subset, 16))
            found = candidates.query(session, Request("", *shape), limit=limit,
                                     hosts=required, node=node)
            # One HostState per node, shared by every key, so the usage
            # tracked while assigning is the node's.
            hosts[key] = [nodes.setdefault(h.node_id, h) for h in found]
    group_of = {u: r.group.id for u, r in requests.items()
                if r.group is not None and r.group.policy in server_groups.HARD}
    return Round(requests, keys, hosts, group_of)


def _assign(pending, stage1, groups):
    """Run the pipeline (pipeline.choose) for each pending instance, tracking
    usage (and its server group's hosts) as instances are assigned. Returns
    the placements and {uuid: filters.Metrics} of those that found no host (a
    multi-create's siblings share the metrics of the one that found none)."""
    placements, no_host = {}, {}
    chosen = filters.enabled(CONF.scheduler.enabled_filters)
    names_w = CONF.scheduler.enabled_weighers
    subset = CONF.scheduler.host_subset_size
    for uuid in pending:
        if uuid in no_host:
            continue
        request = stage1.requests[uuid]
        metrics = filters.Metrics()
        host = pipeline.choose(stage1.hosts[stage1.keys[uuid]], request, chosen, names_w,
                               subset, metrics)
        if host is None:
            for member in groups.get(uuid, (uuid,)):
                no_host[member] = metrics
            continue
        host.vcpus_used += request.vcpus
        host.memory_mb_used += request.memory_mb
        host.local_gb_used += request.disk_gb
        if request.group is not None:
            request.group.hosts[host.host] += 1
        placements[uuid] = claims.Placement(uuid, host.node_id, host.host,
                                            host.hypervisor_hostname, request.vcpus,
                                            request.memory_mb, request.disk_gb)
    return [p for u, p in placements.items() if u not in no_host], no_host


def _explain(failed, stage1):
    """Complete the metrics of the instances that found no host with the
    nodes their candidate query left out, and why (one query per key)."""
    chosen = filters.enabled(CONF.scheduler.enabled_filters)
    by_key = {}
    with reader() as session:
        for uuid, metrics in failed.items():
            request = stage1.requests.get(uuid)
            if request is None or metrics.explained:
                continue
            key = stage1.keys[uuid]
            if key not in by_key:
                left_out = filters.Metrics()
                read = [h.node_id for h in stage1.hosts.get(key, ())]
                candidates.explain(session, request, chosen, left_out, exclude=read)
                by_key[key] = left_out
            metrics.dropped.update(by_key[key].dropped)
            metrics.explained = True


def _claim(placements, groups, group_of=None):
    for attempt in range(5):
        try:
            with transaction() as session:
                return claims.claim_batch(session, sorted(
                    placements, key=lambda p: p.instance_uuid), groups, group_of)
        except sa_exc.DBAPIError as exc:
            code = getattr(exc.orig, "pgcode", None)
            if code not in RETRYABLE_PGCODES or attempt == 4:
                raise
            LOG.info("batch claim hit %s; retrying", code)
            time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
    raise AssertionError("unreachable")


def schedule(items):
    """Place the instances of ``items`` [(uuid, context)]; return
    {uuid: Message to send for it, or None}. Messages for multi-create
    siblings that were not asked for here are sent (and confirmed) here."""
    uuids = [u for u, _ in items]
    contexts = dict(items)
    results = dict.fromkeys(uuids)
    rows, siblings, up, specs = _load(uuids)
    # Only an instance still waiting (BUILDING, SCHEDULING, no host) is placed,
    # and the claim places it only if it still is (compare-and-set). A request
    # for one already placed, by a duplicate or a redelivered message, sends
    # nothing: its build went out with its placement, and if that was lost the
    # reconciler re-sends it, once (conductor/reconciler.py).
    pending = {row.uuid: row for row in rows
               if not row.deleted and row.vm_state == states.BUILDING
               and row.task_state == states.SCHEDULING and row.host is None}
    if not pending:
        return results
    if not up:
        # No compute has reported lately: the bus that carries their reports
        # was out, not every host. Leave them waiting; the reconciler resends.
        LOG.warning("%d instances: no compute service has reported in the last %d s; "
                    "leaving them to be retried", len(pending), CONF.service_down_time)
        return results
    reservation_of = {}
    for row in list(pending.values()) + siblings:
        reservation_of.setdefault(row.reservation_id, []).append(row.uuid)
    for row in siblings:
        pending.setdefault(row.uuid, row)
        contexts.setdefault(row.uuid, next(
            (contexts[u] for u in reservation_of[row.reservation_id] if u in results), {}))
    groups = {}
    for members in reservation_of.values():
        if len(members) > 1:
            for uuid in members:
                groups[uuid] = members
    # Members of one group next to each other, in launch order.
    pending = dict(sorted(pending.items(), key=lambda kv: (kv[1].reservation_id,
                                                           kv[1].launch_index)))
    messages = {}
    tried = 0
    remaining = pending
    why = {}
    while remaining and tried < CONF.scheduler.max_claim_attempts:
        tried += 1
        stage1 = _candidates(remaining, specs)
        placements, no_host = _assign(remaining, stage1, groups)
        outcome = _claim(placements, groups, stage1.group_of) if placements else \
            claims.Outcome({}, set(), set())
        for uuid, payload in _payloads(outcome.placed, pending, placements).items():
            messages[uuid] = casts.build_and_run_instance(payload["host"], payload)
        for uuid in outcome.lost:
            messages[uuid] = None
        retry = set(outcome.full)
        why.update(no_host)
        if outcome.full or outcome.lost:
            # This round found no host for these while counting room for
            # claims that then did not happen (a node filled meanwhile, or
            # another scheduler placed the same instance): look again.
            retry |= set(no_host)
        elif no_host:
            _explain(no_host, stage1)
            for uuid in no_host:
                messages[uuid] = _failed(uuid, tried, why.get(uuid))
        remaining = {u: pending[u] for u in retry}
    if remaining:
        _explain({u: why[u] for u in remaining if u in why}, stage1)
    for uuid in remaining:
        messages[uuid] = _failed(uuid, tried, why.get(uuid))
    placed = sum(1 for m in messages.values() if m and m.method == "build_and_run_instance")
    LOG.info("batch: %d requested, %d with siblings, %d placed, %d failed, %d rounds",
             len(uuids), len(pending), placed,
             sum(1 for m in messages.values() if m and m.method == "schedule_failed"), tried)
    _send_extra({u: m for u, m in messages.items() if u not in results}, contexts)
    results.update({u: m for u, m in messages.items() if u in results})
    return results


def _failed(uuid, tried, metrics=None):
    """schedule_failed, its fault saying why hosts were dropped (Nomad's
    metrics): 'No valid host was found. 9,998 hosts had too little RAM, 2
    were disabled.'"""
    why = metrics.explain() if metrics is not None else ""
    if not why:
        why = "There are not enough hosts available"
    if tried > 1:
        why += f" (tried {tried} times)"
    return casts.schedule_failed(uuid, NO_VALID_HOST + why + ".")


def _send_extra(messages, contexts):
    """Send the messages of siblings no handler here waits for; confirmed."""
    publisher = publisher_mod.get_publisher()
    futures = [publisher.submit_envelope(m.topic, envelope_mod.build(
        m.method, m.args, contexts.get(u))) for u, m in messages.items() if m is not None]
    for future in futures:
        try:
            future.result(timeout=CONF.rpc.publish_timeout + 5)
        except Exception as exc:  # noqa: BLE001 - the reconciler re-sends it
            LOG.warning("a multi-create sibling's message was not confirmed (%s); the "
                        "reconciler will re-send it", exc)
