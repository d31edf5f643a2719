"""Every request checks one named policy rule, here, before its handler: the
rule whose ``operations`` list the route and method (nova_lite.api.policy).
Public routes check none; routes whose rule depends on the body or the query
string (``POST /servers/{id}/action``, keypairs of ``?user_id=``, ...) are
marked ``@policy.checked_in_handler`` and checked there. A route no rule
lists is refused (403) and logged: a new endpoint without a rule fails
closed."""
import logging

import flask

from nova_lite import exception
from nova_lite.api import policy

LOG = logging.getLogger(__name__)
KEY = "nova_lite.policy_routes"


def before():
    endpoint = flask.request.endpoint
    if endpoint is None or flask.request.method == "OPTIONS":
        return
    entry = flask.current_app.extensions[KEY].get((endpoint, flask.request.method))
    if entry is policy.PUBLIC or entry is policy.IN_HANDLER:
        return
    if entry is None:
        LOG.error("no policy rule for %s %s (endpoint %s): refused", flask.request.method,
                  flask.request.url_rule.rule, endpoint)
        raise exception.Forbidden(f"No policy rule allows {flask.request.method} "
                                  f"{flask.request.url_rule.rule}.")
    policy.authorize(entry)


def install(app):
    """After the routes are registered: the map is built once, here."""
    app.extensions[KEY] = policy.route_rules(app)
    app.before_request(before)
