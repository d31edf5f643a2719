"""Compute v2.1."""
import flask


def blueprint():
    return flask.Blueprint("compute", __name__, url_prefix="/compute")
