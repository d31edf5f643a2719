"""How a compute service tells the conductor a build or delete finished.

``DirectReports`` (every real host): one message per instance.
``CoalescedReports`` (the sim fleet, thousands of hosts in one process): the
hosts' reports leave together, one message per kind every few milliseconds
(nova_lite.rpc.coalesce), and each handler still acks its own input only
once the message carrying its report is confirmed."""
from nova_lite.rpc import casts, coalesce


class DirectReports:
    def spawned(self, context, instance_uuid, host, power_state):
        casts.send(casts.instance_spawned(instance_uuid, host, power_state), context)

    def terminated(self, context, instance_uuid, host):
        casts.send(casts.instance_terminated(instance_uuid, host), context)

    def stop(self):
        pass


class CoalescedReports:
    def __init__(self, interval, max_items):
        self._spawned = coalesce.Coalescer(casts.instances_spawned, interval, max_items,
                                           name="spawned-reports")
        self._terminated = coalesce.Coalescer(casts.instances_terminated, interval,
                                              max_items, name="terminated-reports")

    def spawned(self, context, instance_uuid, host, power_state):
        self._spawned.add({"instance_uuid": instance_uuid, "host": host,
                           "power_state": power_state})

    def terminated(self, context, instance_uuid, host):
        self._terminated.add({"instance_uuid": instance_uuid, "host": host})

    def stats(self):
        return {"spawned_messages": self._spawned.sent,
                "spawned_reports": self._spawned.items_sent,
                "terminated_messages": self._terminated.sent,
                "terminated_reports": self._terminated.items_sent}

    def stop(self):
        self._spawned.stop()
        self._terminated.stop()
