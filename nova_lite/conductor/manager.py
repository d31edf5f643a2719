"""The conductor's RPC handlers (see the package docstring for the flows)."""
import logging

from nova_lite.conductor import build_reports, host_reports
from nova_lite.conf import CONF
from nova_lite.db import actions, images, instances, services
from nova_lite.db import tasks as task_db
from nova_lite.db.session import reader, transaction
from nova_lite.network import info as network_info
from nova_lite.network import instance_ports, membership
from nova_lite.objects import states, tasks
from nova_lite.rpc import casts, topology

LOG = logging.getLogger(__name__)


# what the hypervisor says a guest that should be running is doing -> vm_state
STOPPED_BY_ITSELF = (states.SHUTDOWN, states.CRASHED)


class ConductorManager:
    RPC_METHODS = ("build_instance", "schedule_failed", "instance_spawned",
                   "instance_spawn_failed", "instance_terminated", "compute_node_update",
                   "instance_action_done", "instance_action_failed", "snapshot_done",
                   "power_states", "network_changed", "compute_nodes_update",
                   "instances_spawned", "instances_terminated",
                   "security_group_members_wanted", "security_group_members_unwanted")

    def build_instance(self, context, instance_uuid):
        with transaction() as session:
            instance = instances.get(session, instance_uuid)
            if instance is None or instance.deleted or instance.task_state != states.SCHEDULING:
                LOG.info("build of %s: nothing to do (already past scheduling)", instance_uuid)
                return
        casts.send(casts.schedule_instance(instance_uuid), context)

    def schedule_failed(self, context, instance_uuid, reason):
        with transaction() as session:
            if instances.set_error(session, instance_uuid, reason,
                                   expect={"vm_state": states.BUILDING,
                                           "task_state": states.SCHEDULING, "host": None}):
                actions.event(session, instance_uuid, "create", "schedule_instances",
                              result="Error", details=reason)
                actions.finish(session, instance_uuid, "create", "Error")
                instance_ports.release(session, [instance_uuid])
                LOG.warning("instance %s could not be scheduled: %s", instance_uuid, reason)

    def instance_spawned(self, context, instance_uuid, host, power_state):
        build_reports.spawned(context, [{"instance_uuid": instance_uuid, "host": host,
                                         "power_state": power_state}])

    def instances_spawned(self, context, reports):
        build_reports.spawned(context, reports)

    def instance_spawn_failed(self, context, instance_uuid, host, reason, details=None):
        """The build failed (the host has removed what it had made): ERROR with
        a fault; but a server deleted meanwhile is deleted, never left in ERROR."""
        with transaction() as session:
            if self._deleted_in_build(session, instance_uuid, host, details):
                LOG.info("instance %s, deleted while it was built on %s, failed to spawn: "
                         "deleted", instance_uuid, host)
                return
            if instances.set_error(session, instance_uuid, reason,
                                   expect={"vm_state": states.BUILDING, "host": host},
                                   details=details):
                actions.event(session, instance_uuid, "create",
                              "compute_build_and_run_instance", host=host, result="Error",
                              details=details)
                actions.finish(session, instance_uuid, "create", "Error")
                instance_ports.release(session, [instance_uuid])
                LOG.warning("instance %s failed to spawn on %s: %s", instance_uuid, host,
                            reason)

    @staticmethod
    def _deleted_in_build(session, instance_uuid, host, details):
        deleted = instance_ports.delete_server(session, instance_uuid, host=host,
                                               task_state=states.DELETING)
        if deleted:
            actions.event(session, instance_uuid, "create", "compute_build_and_run_instance",
                          host=host, result="Error", details=details)
            actions.finish(session, instance_uuid, "create", "Error")
        return deleted

    def instance_terminated(self, context, instance_uuid, host):
        build_reports.terminated(context, [{"instance_uuid": instance_uuid, "host": host}])

    def instances_terminated(self, context, reports):
        build_reports.terminated(context, reports)

    def compute_node_update(self, context, host, resources):
        with transaction() as session:
            services.upsert_compute_node(session, host, resources)
            services.heartbeat(session, host, "nova-lite-compute",
                               topology.compute_topic(host))

    def compute_nodes_update(self, context, reports):
        """Many hosts' resources and heartbeats in one transaction (a process
        of simulated hosts sends these; see conductor/host_reports.py)."""
        host_reports.compute_nodes_update(context, reports)

    # -- the steps of tasks on running instances (nova_lite.objects.tasks) ----------
    def instance_action_done(self, context, instance_uuid, host, task_state, vm_state,
                             power_state):
        """A step ended on its host: the next step, or the task's end (the
        vm_state is the table's, from ``power_state``; ``vm_state`` is what
        the host read of the same table)."""
        if tasks.of(task_state)[0] is None:
            LOG.warning("%s on %s reported the end of %s, no task's step", instance_uuid,
                        host, task_state)
            return
        with transaction() as session:
            following = task_db.step_done(session, instance_uuid, host, task_state,
                                          power_state)
            message = None
            if following:
                row = instances.get(session, instance_uuid)
                nets = network_info.for_instances(session, [instance_uuid])
                message = casts.task_step(host, tasks.of(following)[1], instance_uuid,
                                          task_db.step_payload(session, row,
                                                               nets[instance_uuid]))
        if message is not None:
            casts.send(message, context)

    def instance_action_failed(self, context, instance_uuid, host, task_state, reason,
                               details=None):
        """A step failed on its host (which undid its part): the task's
        database undo, its on_failure vm_state, a fault."""
        if tasks.of(task_state)[0] is None:
            return
        with transaction() as session:
            if task_db.step_failed(session, instance_uuid, task_state, reason, details,
                                   host=host):
                LOG.warning("%s of %s failed on %s: %s", task_state, instance_uuid, host,
                            reason)

    def snapshot_done(self, context, instance_uuid, host, image_id, error=None):
        with transaction() as session:
            if error:
                images.discard_failed_snapshot(session, image_id)
                instances.add_fault(session, instance_uuid, error, 500)
            if instances.transition(session, instance_uuid,
                                    {"task_state": states.IMAGE_SNAPSHOT, "host": host},
                                    task_state=None):
                actions.event(session, instance_uuid, "createImage",
                              "compute_snapshot_instance", host=host,
                              result="Error" if error else "Success", details=error)
                actions.finish(session, instance_uuid, "createImage",
                               "Error" if error else None)

    def power_states(self, context, host, observed):
        """Record what the hypervisor says; a guest that stopped by itself is
        STOPPED (as Nova's power-state sync does); a guest the database does not
        place on this host is removed from it."""
        orphans = []
        with transaction() as session:
            on_host = {row.uuid: row for row in instances.on_host(session, host)}
            for uuid, row in on_host.items():
                if row.task_state is not None or row.vm_state in (states.BUILDING,
                                                                 states.ERROR):
                    continue             # an action is under way; it reports itself
                power = observed.get(uuid, states.NOSTATE)
                values = {}
                if power != row.power_state:
                    values["power_state"] = power
                if row.vm_state == states.ACTIVE and power in STOPPED_BY_ITSELF:
                    values["vm_state"] = states.STOPPED
                if values:
                    LOG.info("instance %s on %s: power state %s -> %s", uuid, host,
                             row.power_state, power)
                    instances.transition(session, uuid, {"task_state": None,
                                                         "vm_state": row.vm_state}, **values)
            orphans = [uuid for uuid in observed if uuid not in on_host]
        for uuid in orphans:
            LOG.warning("guest %s on %s belongs to no live instance there; removing it",
                        uuid, host)
            casts.send(casts.terminate_instance(host, uuid), context)

    # -- networking ---------------------------------------------------------------------
    def network_changed(self, context, instance_uuids=(), security_group_ids=()):
        """Rules or floating IPs changed (of these instances, or of every member
        of these groups): send each affected host the new network_info of its
        instances there. Members joining or leaving groups do not come here:
        see nova_lite.network.membership."""
        with reader() as session:
            uuids = set(instance_uuids) | set(
                network_info.instances_affected(session, security_group_ids))
            placed = instances.placed(session, uuids,
                                      CONF.conductor.network_refresh_skip_hypervisors)
            infos = network_info.for_instances(session, [row.uuid for row in placed])
        by_host = {}
        for row in placed:
            by_host.setdefault(row.host, {})[row.uuid] = infos.get(row.uuid, [])
        for host, host_instances in by_host.items():
            casts.send(casts.refresh_network(host, host_instances), context)

    def security_group_members_wanted(self, context, host, security_group_ids):
        with transaction() as session:
            membership.wanted(session, host, security_group_ids)

    def security_group_members_unwanted(self, context, host, security_group_ids):
        with transaction() as session:
            forgotten = membership.unwanted(session, host, security_group_ids)
        if forgotten:
            LOG.info("%s no longer hears of the members of %s", host, ", ".join(forgotten))
