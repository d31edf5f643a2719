"""os-hypervisors: the compute nodes, their capacity and use (admin).

    GET /os-hypervisors[/detail]      2.33: ?limit=&marker=; 2.53: ids are uuids,
                                      ?hypervisor_hostname_pattern=, ?with_servers=
    GET /os-hypervisors/{id}          2.53: ?with_servers=
    GET /os-hypervisors/statistics    totals (gone at 2.88, as in Nova)
    GET /os-hypervisors/{pattern}/search, /{pattern}/servers   (before 2.53)

Bodies as Nova's; from 2.88 the resource fields (vcpus, memory_mb, ...) are
left out, as Nova leaves them to Placement. Rules:
os_compute_api:os-hypervisors:list, :list-detail, :show, :statistics,
:search, :servers (admin). The queries: nova_lite/db/hypervisors.py."""
import flask

from nova_lite import exception
from nova_lite.api import links, pagination, validation
from nova_lite.api.middleware import microversion
from nova_lite.db import hypervisors as hyper_db
from nova_lite.db import services as service_db
from nova_lite.db.session import reader

RESOURCE_FIELDS = ("vcpus", "vcpus_used", "memory_mb", "memory_mb_used", "local_gb",
                   "local_gb_used", "free_ram_mb", "free_disk_gb", "disk_available_least",
                   "running_vms", "current_workload", "cpu_info")


def _at_least(version):
    return microversion.requested() >= version


def _truthy(name):
    raw = flask.request.args.get(name)
    if raw is None:
        return False
    if raw.lower() in ("1", "true", "t", "yes", "y", "on"):
        return True
    if raw.lower() in ("0", "false", "f", "no", "n", "off"):
        return False
    raise exception.Invalid(f"Invalid value for {name}: {raw!r}")


def _view(node, service, detail, workload=0, servers=None):
    uuids = _at_least((2, 53))
    body = {
        "id": node.uuid if uuids else node.id,
        "hypervisor_hostname": node.hypervisor_hostname,
        "state": "up" if service is not None and service_db.is_up(service) else "down",
        "status": "disabled" if service is not None and service.disabled else "enabled",
    }
    if detail:
        body.update({
            "hypervisor_type": node.hypervisor_type,
            "hypervisor_version": node.hypervisor_version,
            "host_ip": node.host_ip,
            "service": {"host": node.host,
                        "id": (service.uuid if uuids else service.id) if service else None,
                        "disabled_reason": service.disabled_reason if service else None},
        })
        if _at_least((2, 88)):
            body["uptime"] = None
        else:
            free_disk = node.local_gb - node.local_gb_used
            body.update({
                "vcpus": node.vcpus, "vcpus_used": node.vcpus_used,
                "memory_mb": node.memory_mb, "memory_mb_used": node.memory_mb_used,
                "free_ram_mb": node.memory_mb - node.memory_mb_used,
                "local_gb": node.local_gb, "local_gb_used": node.local_gb_used,
                "free_disk_gb": free_disk, "disk_available_least": free_disk,
                "running_vms": node.running_vms, "current_workload": workload,
                "cpu_info": {} if _at_least((2, 28)) else "{}",
            })
    if servers is not None and (servers or _at_least((2, 53))):
        # Before 2.53 Nova leaves "servers" out of a hypervisor with none;
        # from 2.53 (with_servers) it is always there.
        body["servers"] = [{"uuid": u, "name": n} for u, n in servers]
    return body


def _page_args(session):
    """(limit, after node id) from ?limit=&marker= (2.33), else (None, None)."""
    if not _at_least((2, 33)):
        return None, None
    limit = pagination.limit()
    marker = pagination.marker()
    if marker is None:
        return limit, None
    if _at_least((2, 53)):
        after = hyper_db.id_of(session, marker) if validation.is_uuid(marker) else None
    else:
        after = int(marker) if marker.isdigit() and int(marker) < 2**31 else None
        if after is not None and hyper_db.get(session, node_id=after) is None:
            after = None
    if after is None:
        raise exception.Invalid(f"marker [{marker}] not found")
    return limit, after


def _list(detail):
    args = flask.request.args
    pattern = None
    with_servers = False
    if _at_least((2, 53)):
        pattern = args.get("hypervisor_hostname_pattern")
        with_servers = _truthy("with_servers")
    with reader() as session:
        limit, after = _page_args(session)
        if pattern is not None and (limit is not None and "marker" in args):
            raise exception.Invalid("Paging over a list of hypervisors using a "
                                    "hypervisor_hostname_pattern is not supported.")
        rows = hyper_db.page(session, limit, after, pattern)
        if pattern is not None and not rows:
            raise exception.NotFound(f"No hypervisor matching '{pattern}' could be found.")
        hosts = [node.host for node, _ in rows]
        work = hyper_db.workloads(session, hosts) if detail else {}
        on = hyper_db.servers(session, hosts) if with_servers else None
    items = [_view(node, service, detail, work.get(node.host, 0),
                   None if on is None else on.get(node.host, []))
             for node, service in rows]
    body = {"hypervisors": items}
    if limit is not None:
        nxt = pagination.next_link(
            links.base_url() + "/compute/v2.1/os-hypervisors" + ("/detail" if detail else ""),
            items, limit)
        if nxt:
            body["hypervisors_links"] = nxt
    return flask.jsonify(body)


def index():
    return _list(detail=False)


def detail():
    return _list(detail=True)


def show(hypervisor_id):
    with_servers = _at_least((2, 53)) and _truthy("with_servers")
    with reader() as session:
        if _at_least((2, 53)):
            if not validation.is_uuid(hypervisor_id):
                raise exception.Invalid(f"Invalid uuid {hypervisor_id}")
            row = hyper_db.get(session, node_uuid=hypervisor_id)
        else:
            row = hyper_db.get(session, node_id=int(hypervisor_id)) \
                if hypervisor_id.isdigit() and int(hypervisor_id) < 2**31 else None
        if row is None:
            raise exception.NotFound(f"Hypervisor with ID '{hypervisor_id}' could not be "
                                     "found.")
        node, service = row
        work = hyper_db.workloads(session, [node.host])
        on = hyper_db.servers(session, [node.host]) if with_servers else None
        body = _view(node, service, True, work.get(node.host, 0),
                     None if on is None else on.get(node.host, []))
    return flask.jsonify({"hypervisor": body})


def statistics():
    if _at_least((2, 88)):
        raise exception.NotFound("The resource could not be found.")
    with reader() as session:
        return flask.jsonify({"hypervisor_statistics": hyper_db.statistics(session)})


def _by_pattern(pattern, with_servers):
    if _at_least((2, 53)):
        raise exception.NotFound("The resource could not be found.")
    with reader() as session:
        rows = hyper_db.page(session, pattern=pattern)
        if not rows:
            raise exception.NotFound(f"No hypervisor matching '{pattern}' could be found.")
        on = hyper_db.servers(session, [n.host for n, _ in rows]) if with_servers else None
    return flask.jsonify({"hypervisors": [
        _view(node, service, False, servers=None if on is None else on.get(node.host, []))
        for node, service in rows]})


def search(pattern):
    return _by_pattern(pattern, with_servers=False)


def servers(pattern):
    return _by_pattern(pattern, with_servers=True)


def register(bp):
    bp.add_url_rule("/v2.1/os-hypervisors", "hypervisors", index)
    bp.add_url_rule("/v2.1/os-hypervisors/detail", "hypervisors_detail", detail)
    bp.add_url_rule("/v2.1/os-hypervisors/statistics", "hypervisor_statistics", statistics)
    bp.add_url_rule("/v2.1/os-hypervisors/<hypervisor_id>", "hypervisor", show)
    bp.add_url_rule("/v2.1/os-hypervisors/<pattern>/search", "hypervisor_search", search)
    bp.add_url_rule("/v2.1/os-hypervisors/<pattern>/servers", "hypervisor_servers",
                    servers)
