"""The stages in order: candidates -> filters -> weighers (best first)."""
from nova_lite.conf import CONF
from nova_lite.scheduler import candidates, filters, weighers


def select_hosts(session, request):
    hosts = candidates.query(session, request)
    hosts = filters.apply(hosts, request, CONF.scheduler.enabled_filters)
    return weighers.rank(hosts, request, CONF.scheduler.enabled_weighers)
