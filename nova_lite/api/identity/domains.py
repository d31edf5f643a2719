"""Domains, read-only: GET /v3/domains[/default]. The Default domain is the
only one; clients resolve `--domain default` through these."""
import flask

from nova_lite import exception
from nova_lite.api import context
from nova_lite.api.identity.views import DEFAULT_DOMAIN_ID, collection, domain_view


def list_domains():
    """identity:list_domains (any authenticated user: there is one, public)."""
    context.current()
    name = flask.request.args.get("name")
    found = [domain_view()] if name in (None, "Default") else []
    return collection("domains", found)


def show_domain(domain_id):
    """identity:get_domain (any authenticated user)."""
    if domain_id != DEFAULT_DOMAIN_ID:
        raise exception.NotFound(f"Could not find domain: {domain_id}.")
    return flask.jsonify({"domain": domain_view()})


def register(bp):
    bp.add_url_rule("/v3/domains", "list_domains", list_domains)
    bp.add_url_rule("/v3/domains/<domain_id>", "show_domain", show_domain)
