"""Image v2, the subset of Glance that current clients need: version discovery,
image records, their data (in PostgreSQL, or files), and the JSON schemas.

- ``versions``   GET /image/, /image/versions (public)
- ``images``     create, list, show, patch, delete (thin handlers)
- ``files``      PUT/GET /v2/images/<id>/file
- ``schemas``    the one image schema: validates requests, served to clients
- ``media``      Content-Type checks for upload and patch bodies
- ``params``     list query string -> filters and sort order
- ``patch``      JSON patch on an image's writable attributes
- ``queries``    which images a request may see, paged (shared with the
                 Compute API's images proxy)
- ``lifecycle``  every change to an image and its status (shared too)
- ``store``      the image data: [image] store = database (rows of
                 image_chunks) or file (under [image] storage_dir)
- ``views``      the Glance image view

Flow: handler -> lifecycle (one transaction, rules) -> store (data) -> views.
"""
import flask

from nova_lite.api.image import files, images, schemas, versions


def blueprint():
    bp = flask.Blueprint("image", __name__, url_prefix="/image")
    versions.register(bp)
    images.register(bp)
    files.register(bp)
    schemas.register(bp)
    return bp
