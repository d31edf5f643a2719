"""This process's outbox relay (one per API worker), woken after each commit
that wrote outbox rows."""
import flask

RELAY_KEY = "nova_lite.outbox_relay"


def wake():
    relay = flask.current_app.extensions.get(RELAY_KEY)
    if relay is not None:
        relay.wake()
