"""The Flask app factory: middleware once, then one blueprint per API."""
import logging

import flask

from nova_lite.api import compute, identity, image, network
from nova_lite.api.identity import tokens
from nova_lite.api.middleware import auth, errors, input_limits, microversion, request_id
from nova_lite.api.middleware import policy as policy_middleware
from nova_lite.api.relay import RELAY_KEY
from nova_lite.conf import CONF
from nova_lite.rpc import outbox

LOG = logging.getLogger(__name__)


def create_app(start_relay=True):
    app = flask.Flask("nova_lite.api", static_folder=None)
    app.json.sort_keys = False
    app.config["MAX_CONTENT_LENGTH"] = None      # image uploads are streamed
    tokens.configure_cache()
    request_id.install(app)                      # runs first: every response gets an id
    input_limits.install(app)                    # then bad input is refused, before auth
    auth.install(app)
    microversion.install(app)
    errors.install(app)
    app.register_blueprint(identity.blueprint())
    app.register_blueprint(compute.blueprint())
    app.register_blueprint(image.blueprint())
    app.register_blueprint(network.blueprint())
    app.add_url_rule("/", "root", _root)
    setattr(_root, auth.PUBLIC_ATTR, True)
    policy_middleware.install(app)               # after every route: maps them to rules
    relay = outbox.Relay(CONF.api.outbox_sweep_interval, linger=CONF.api.outbox_linger)
    app.extensions[RELAY_KEY] = relay
    if start_relay:
        relay.start()
    return app


def _root():
    base = flask.request.host_url.rstrip("/")
    return flask.jsonify({"services": {"identity": base + "/identity",
                                       "compute": base + "/compute",
                                       "image": base + "/image",
                                       "network": base + "/network"}})
