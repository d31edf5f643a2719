"""Networking v2 (the Neutron API subset current clients need), under
/network, one controller module per resource; a front for nova_lite.network:

    versions             GET /network/, /network/v2.0/ (public)
    extensions           /v2.0/extensions[/{alias}]: what is implemented
    networks             /v2.0/networks[/{id}]
    subnets              /v2.0/subnets[/{id}]
    ports                /v2.0/ports[/{id}]
    floating_ips         /v2.0/floatingips[/{id}]
    security_groups      /v2.0/security-groups[/{id}]
    security_group_rules /v2.0/security-group-rules[/{id}]
    quotas               /v2.0/quotas[/{project_id}[/default|/details]]

Shared: ``params`` (filters, sorting, paging, ``fields``, request bodies),
``views`` (the resource bodies), ``schemas`` (JSON schemas of the bodies).
Errors leave as ``{"NeutronError": {"type", "message", "detail"}}`` (the
error middleware's /network branch). Handlers: parse, one transaction in
nova_lite.network, a view; create 201, update 200, delete 204.
"""
import logging

import flask

from nova_lite.api import relay

LOG = logging.getLogger(__name__)


def _wake_relay(response):
    """Changes may have written outbox rows (nova_lite.network.notify): let
    the relay send them now rather than at its next sweep."""
    if flask.request.method in ("POST", "PUT", "DELETE") and response.status_code < 400:
        relay.wake()
    return response


def blueprint():
    from nova_lite.api.network import (
        extensions,
        floating_ips,
        networks,
        ports,
        quotas,
        security_group_rules,
        security_groups,
        subnets,
        versions,
    )

    bp = flask.Blueprint("network", __name__, url_prefix="/network")
    for module in (versions, extensions, networks, subnets, ports, floating_ips,
                   security_groups, security_group_rules, quotas):
        module.register(bp)
    bp.after_request(_wake_relay)
    return bp
