"""The conductor's batched host report: ``compute_nodes_update(reports)``
records the resources and heartbeats of many compute hosts in one
transaction of two statements (db/host_reports.py), where
``compute_node_update`` costs a transaction per host. A process running
thousands of simulated hosts ([sim] batch_reports) sends these, so 10,000
hosts reporting every 20 s cost one message a second of 500 hosts, not 500
messages a second.

Wiring (ConductorManager): RPC_METHODS gets "compute_nodes_update" and

    def compute_nodes_update(self, context, reports):
        host_reports.compute_nodes_update(context, reports)
"""
from nova_lite.db import host_reports
from nova_lite.db.session import transaction
from nova_lite.rpc import topology


def compute_nodes_update(context, reports):
    if not reports:
        return
    with transaction() as session:
        host_reports.upsert_compute_nodes(session, reports)
        host_reports.heartbeats(session, [r["host"] for r in reports], "nova-lite-compute",
                                topology.compute_topic)
