"""Compute v2.1 images proxy: GET /v2.1/images, /v2.1/images/detail,
GET and DELETE /v2.1/images/<id>, in Nova's format.

No image logic lives here: reads go through ``image.queries`` (the same
visibility rules as the Image API) and delete through ``image.lifecycle``.
Filters as Nova passes them on to Glance: name, status (Nova's or Glance's
spelling), minDisk, minRam, server, type and ``property-<key>``.
"""
import flask

from nova_lite import exception
from nova_lite.api import context, links, pagination
from nova_lite.api.image import lifecycle, params, queries, schemas
from nova_lite.api.timeutil import iso
from nova_lite.db.session import reader

STATUS = {"active": "ACTIVE", "queued": "SAVING", "saving": "SAVING",
          "deleted": "DELETED", "pending_delete": "DELETED", "killed": "ERROR"}
PROGRESS = {"queued": 25, "saving": 50, "active": 100}
TRUE_STRINGS = ("1", "t", "true", "on", "y", "yes")


def _links(image_id):
    return links.compute_links("images", image_id) + [
        {"rel": "alternate", "type": "application/vnd.openstack.image",
         "href": f"{links.base_url()}/image/v2/images/{image_id}"}]


def summary_view(image):
    return {"id": image.id, "name": image.name, "links": _links(image.id)}


def detail_view(image):
    metadata = dict(image.properties or {})
    view = {
        "id": image.id,
        "name": image.name,
        "status": STATUS.get(image.status, "UNKNOWN"),
        "progress": PROGRESS.get(image.status, 0),
        "minDisk": image.min_disk,
        "minRam": image.min_ram,
        "created": iso(image.created_at),
        "updated": iso(image.updated_at or image.created_at),
        "metadata": metadata,
        "OS-EXT-IMG-SIZE:size": image.size,
        "links": _links(image.id),
    }
    if "auto_disk_config" in metadata:
        auto = str(metadata["auto_disk_config"]).lower() in TRUE_STRINGS
        view["OS-DCF:diskConfig"] = "AUTO" if auto else "MANUAL"
    if metadata.get("instance_uuid"):
        server = metadata["instance_uuid"]
        view["server"] = {"id": server, "links": links.compute_links("servers", server)}
    return view


def _statuses(value):
    """Glance statuses for a Nova (ACTIVE, SAVING, ...) or Glance status filter."""
    matching = tuple(g for g, nova in STATUS.items() if nova == value.upper())
    if value.lower() in schemas.STATUSES:
        matching += (value.lower(),)
    return matching


def _filters():
    filters = queries.Filters()
    for key in flask.request.args:
        params.text("parameter name", key)
        value = params.text(key, flask.request.args[key])
        if key == "name":
            filters.names = (value,)
        elif key == "status":
            filters.statuses = _statuses(value)
        elif key == "minDisk":
            filters.min_disk = params.integer(key, value)
        elif key == "minRam":
            filters.min_ram = params.integer(key, value)
        elif key == "server":
            filters.properties["instance_uuid"] = value
        elif key == "type":
            filters.properties["image_type"] = value
        elif key.startswith("property-"):
            filters.properties[key[len("property-"):]] = value
        elif key == "changes-since":
            raise exception.Invalid("Filtering images on changes-since is not supported.")
    return filters


def _list(view, collection):
    limit = pagination.limit()
    with reader() as session:
        images = queries.page(session, context.current(), _filters(), limit=limit,
                              marker=pagination.marker())
    items = [view(i) for i in images]
    body = {"images": items}
    next_link = pagination.next_link(f"{links.base_url()}/compute/v2.1/{collection}",
                                     items, limit)
    if next_link:
        body["images_links"] = next_link
    return flask.jsonify(body)


def index():
    return _list(summary_view, "images")


def detail():
    return _list(detail_view, "images/detail")


def show(image_id):
    with reader() as session:
        image = queries.get_visible(session, context.current(), image_id)
    return flask.jsonify({"image": detail_view(image)})


def delete(image_id):
    lifecycle.delete(context.current(), image_id)
    return "", 204


def register(bp):
    bp.add_url_rule("/v2.1/images", "images", index, methods=["GET"])
    bp.add_url_rule("/v2.1/images/detail", "images_detail", detail, methods=["GET"])
    bp.add_url_rule("/v2.1/images/<image_id>", "image", show, methods=["GET"])
    bp.add_url_rule("/v2.1/images/<image_id>", "delete_image", delete,
                    methods=["DELETE"])
