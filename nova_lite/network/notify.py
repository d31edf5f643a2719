"""Telling compute hosts that an instance's network changed.

Whoever changes rules, group membership or floating IPs calls ``changed`` in
the same transaction: it puts one ``network_changed`` message for the
conductor in the outbox. The conductor works out which instances it touches
(members of the groups, and of groups whose rules name them as remote group),
builds their network_info and sends ``refresh_network`` to each host."""
from nova_lite.rpc import casts, outbox


def changed(session, context, instance_uuids=(), security_group_ids=()):
    if not instance_uuids and not security_group_ids:
        return
    rpc_context = context.to_rpc() if hasattr(context, "to_rpc") else context
    outbox.enqueue(session, casts.network_changed(sorted(set(instance_uuids)),
                                                  sorted(set(security_group_ids))),
                   rpc_context)
