"""Image v2 (Glance subset). Filled in by the image controllers."""
import flask


def blueprint():
    return flask.Blueprint("image", __name__, url_prefix="/image")
