"""Image records: POST/GET /image/v2/images, GET/PATCH/DELETE /image/v2/images/<id>."""
import urllib.parse

import flask

from nova_lite.api import context, links, pagination, validation
from nova_lite.api.image import lifecycle, media, params, patch, queries, views
from nova_lite.db.session import reader

COLLECTION = "/v2/images"


def _image_response(image, status=200):
    response = flask.jsonify(views.image_view(image))
    response.status_code = status
    return response


def _collection_link(marker=None):
    """``/v2/images`` with this request's query, the marker replaced (Glance's
    ``first``/``next``, relative to the API root)."""
    args = [(k, v) for k, v in flask.request.args.items(multi=True) if k != "marker"]
    if marker is not None:
        args.append(("marker", marker))
    return COLLECTION + ("?" + urllib.parse.urlencode(args) if args else "")


def create():
    image = lifecycle.create(context.current(), validation.json_body())
    response = _image_response(image, 201)
    response.headers["Location"] = f"{links.base_url()}/image{COLLECTION}/{image.id}"
    return response


def index():
    limit = pagination.limit()
    filters, sort = params.filters(), params.sort()
    with reader() as session:
        images = queries.page(session, context.current(), filters, sort, limit,
                              pagination.marker())
    body = {"images": [views.image_view(i) for i in images],
            "first": _collection_link(), "schema": "/v2/schemas/images"}
    if images and len(images) == limit:
        body["next"] = _collection_link(images[-1].id)
    return flask.jsonify(body)


def show(image_id):
    with reader() as session:
        image = queries.get_visible(session, context.current(), image_id)
    return _image_response(image)


def update(image_id):
    media.require(patch.MEDIA_TYPE, "changing an image")
    image = lifecycle.update(context.current(), image_id, validation.json_body())
    return _image_response(image)


def delete(image_id):
    lifecycle.delete(context.current(), image_id)
    return "", 204


def register(bp):
    bp.add_url_rule("/v2/images", "create_image", create, methods=["POST"])
    bp.add_url_rule("/v2/images", "list_images", index, methods=["GET"])
    bp.add_url_rule("/v2/images/<image_id>", "show_image", show, methods=["GET"])
    bp.add_url_rule("/v2/images/<image_id>", "update_image", update, methods=["PATCH"])
    bp.add_url_rule("/v2/images/<image_id>", "delete_image", delete, methods=["DELETE"])
