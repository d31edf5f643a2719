"""Image data: PUT/GET /image/v2/images/<id>/file (upload streams to the store,
download streams from it)."""
import flask
from werkzeug.wsgi import wrap_file

from nova_lite import exception
from nova_lite.api import context
from nova_lite.api.middleware import input_limits
from nova_lite.api.image import lifecycle, media, queries, store
from nova_lite.conf import CONF
from nova_lite.db.session import reader

MEDIA_TYPE = "application/octet-stream"


@input_limits.streamed
def upload(image_id):
    media.require(MEDIA_TYPE, "uploading image data")
    max_size = CONF.image.max_image_size
    if flask.request.content_length is not None:
        store.check_size(flask.request.content_length, max_size)
    lifecycle.upload(context.current(), image_id, flask.request.stream, max_size)
    return "", 204


def download(image_id):
    with reader() as session:
        image = queries.get_visible(session, context.current(), image_id)
    if image.status != "active":
        return "", 204
    handle = store.open_file(image.id)
    if handle is None:
        raise exception.NotFound(f"The data of image {image.id} is missing from the "
                                 "image store.")
    response = flask.Response(
        wrap_file(flask.request.environ, handle, store.CHUNK_SIZE),
        mimetype=MEDIA_TYPE, direct_passthrough=True)
    response.content_length = handle.size
    if image.checksum:
        response.headers["Content-MD5"] = image.checksum
    return response


def register(bp):
    bp.add_url_rule("/v2/images/<image_id>/file", "upload_image_file", upload,
                    methods=["PUT"])
    bp.add_url_rule("/v2/images/<image_id>/file", "download_image_file", download,
                    methods=["GET"])
