"""os-simple-tenant-usage: what projects' servers used over a period.

    GET /os-simple-tenant-usage?start=&end=[&detailed=1]    every project (admin)
    GET /os-simple-tenant-usage/{tenant_id}?start=&end=     one project (its
                                                            readers, or admin)

``start`` and ``end`` default to now; 2.40 pages the servers counted
(``limit``, ``marker`` a server's uuid). Bodies as Nova's. Rules:
os_compute_api:os-simple-tenant-usage:list and :show. The arithmetic:
nova_lite/db/usage.py."""
import datetime

import flask

from nova_lite import exception
from nova_lite.api import context, links, pagination, validation
from nova_lite.api.middleware import microversion
from nova_lite.db import models
from nova_lite.db import usage as usage_db
from nova_lite.db.session import reader

_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f",
            "%Y-%m-%d %H:%M:%S")


def _moment(name, now):
    raw = flask.request.args.get(name)
    if raw is None:
        return now
    text = raw.strip().replace("Z", "")
    if text.endswith("+00:00"):
        text = text[:-6]
    for fmt in _FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).replace(tzinfo=datetime.UTC)
        except ValueError:
            continue
    raise exception.Invalid(f"Invalid {name} time {raw!r}: expected "
                            "YYYY-MM-DDTHH:MM:SS[.ffffff].")


def _period():
    now = models.utcnow()
    start, stop = _moment("start", now), _moment("end", now)
    if start > stop:
        raise exception.Invalid("Invalid start time. The start time cannot occur "
                                "after the end time.")
    return start, stop, now


def _iso(moment):
    return moment.astimezone(datetime.UTC).replace(tzinfo=None).isoformat() \
        if moment else None


def _server_usage(row, start, stop, now):
    hours = usage_db.hours(row, start, stop)
    return {
        "instance_id": row.uuid, "name": row.name, "tenant_id": row.project_id,
        "hours": hours, "vcpus": row.vcpus, "memory_mb": row.memory_mb,
        "local_gb": row.root_gb + row.ephemeral_gb,
        "flavor": (row.flavor or {}).get("name") or row.flavor_id,
        "started_at": _iso(row.launched_at or row.created_at),
        "ended_at": _iso(row.terminated_at),
        "state": "terminated" if row.deleted else row.vm_state,
        "uptime": usage_db.uptime(row, now),
    }


def _summaries(rows, start, stop, now, detailed):
    """Per project, in order of first appearance: its totals (and servers)."""
    found = {}
    for row in rows:
        usage = _server_usage(row, start, stop, now)
        entry = found.get(row.project_id)
        if entry is None:
            entry = found[row.project_id] = _entry(row.project_id, start, stop,
                                                   (0.0, 0.0, 0.0, 0.0))
            if detailed:
                entry["server_usages"] = []
        entry["total_hours"] += usage["hours"]
        entry["total_vcpus_usage"] += usage["hours"] * usage["vcpus"]
        entry["total_memory_mb_usage"] += usage["hours"] * usage["memory_mb"]
        entry["total_local_gb_usage"] += usage["hours"] * usage["local_gb"]
        if detailed:
            entry["server_usages"].append(usage)
    return list(found.values())


def _entry(project_id, start, stop, sums):
    hours, vcpus, memory, disk = sums
    return {"tenant_id": project_id, "start": _iso(start), "stop": _iso(stop),
            "total_hours": hours, "total_vcpus_usage": vcpus,
            "total_memory_mb_usage": memory, "total_local_gb_usage": disk}


def _paging(session):
    """(limit, after instance id) at 2.40 (marker: a server's uuid), else (None, None)."""
    if microversion.requested() < (2, 40):
        return None, None
    limit = pagination.limit()
    marker = pagination.marker()
    if marker is None:
        return limit, None
    after = usage_db.id_of(session, marker) if validation.is_uuid(marker) else None
    if after is None:
        raise exception.Invalid(f"marker [{marker}] not found")
    return limit, after


def _next(rows, limit, url, key):
    if limit is None or len(rows) < limit or not rows:
        return {}
    return {key: pagination.next_link(url, [{"id": rows[-1].uuid}], 1)}


def index():
    start, stop, now = _period()
    # Nova reads "1"; openstacksdk sends "True".
    detailed = flask.request.args.get("detailed", "0").lower() in ("1", "true")
    with reader() as session:
        limit, after = _paging(session)
        if limit is None and not detailed:
            sums = usage_db.totals(session, start, stop)
            return flask.jsonify({"tenant_usages": [
                _entry(project, start, stop, values) for project, values in sums.items()]})
        rows = usage_db.servers(session, start, stop, limit=limit, after_id=after)
    body = {"tenant_usages": _summaries(rows, start, stop, now, detailed)}
    body.update(_next(rows, limit, links.base_url() + "/compute/v2.1/os-simple-tenant-usage",
                      "tenant_usages_links"))
    return flask.jsonify(body)


def show(tenant_id):
    ctx = context.current()
    if tenant_id != ctx.project_id:
        # The middleware checked the rule on the caller's own project.
        ctx.authorize("os_compute_api:os-simple-tenant-usage:show",
                      {"project_id": tenant_id})
    start, stop, now = _period()
    with reader() as session:
        limit, after = _paging(session)
        rows = usage_db.servers(session, start, stop, project_id=tenant_id, limit=limit,
                                after_id=after)
    found = _summaries(rows, start, stop, now, detailed=True)
    body = {"tenant_usage": found[0] if found else {}}
    body.update(_next(rows, limit, links.base_url() + "/compute/v2.1/os-simple-tenant-usage/"
                      + tenant_id, "tenant_usage_links"))
    return flask.jsonify(body)


def register(bp):
    bp.add_url_rule("/v2.1/os-simple-tenant-usage", "tenant_usages", index)
    bp.add_url_rule("/v2.1/os-simple-tenant-usage/<tenant_id>", "tenant_usage", show)
