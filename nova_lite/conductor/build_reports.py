"""What hosts report of builds and deletes, for one instance or many.

    instance_spawned / instances_spawned          -> ACTIVE, ports bound;
        a guest built for an instance deleted meanwhile -> terminate_instance to its host
    instance_terminated / instances_terminated    -> soft-deleted, claim and ports released

A real host sends one report per instance; a process of simulated hosts
coalesces its hosts' reports (nova_lite.rpc.coalesce), and both take the same
path: one transaction of a fixed number of statements (db/build_results.py),
then the casts it implies (orphan clean-up). Addresses that join or leave
security groups reach the other hosts through the database triggers and the
membership fan-out (nova_lite.network.membership), not from here."""
import logging

from nova_lite.db import build_results
from nova_lite.db.session import transaction
from nova_lite.network import instance_ports
from nova_lite.rpc import casts

LOG = logging.getLogger(__name__)


def spawned(context, reports):
    with transaction() as session:
        active, orphans = build_results.spawned(session, reports)
    for uuid, host in orphans:
        # Deleted (or moved) while it was being built: the guest on this host
        # belongs to nobody, so have the host remove it.
        LOG.info("instance %s spawned on %s after it was deleted; cleaning up", uuid, host)
        casts.send(casts.terminate_instance(host, uuid), context)
    return active


def terminated(context, reports):
    with transaction() as session:
        deleted = build_results.terminated(session, reports)
        if deleted:
            instance_ports.release(session, deleted)
    return deleted
