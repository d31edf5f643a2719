"""The conductor's RPC handlers (see the package docstring for the flows)."""
import logging

from nova_lite.db import actions, instances, models, services
from nova_lite.db.session import transaction
from nova_lite.objects import states
from nova_lite.rpc import casts, topology

LOG = logging.getLogger(__name__)


class ConductorManager:
    RPC_METHODS = ("build_instance", "schedule_failed", "instance_spawned",
                   "instance_spawn_failed", "instance_terminated", "compute_node_update")

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
                                   expect={"vm_state": states.BUILDING}):
                actions.event(session, instance_uuid, "create", "schedule_instances",
                              result="Error", details=reason)
                actions.finish(session, instance_uuid, "create", "Error")
                LOG.warning("instance %s could not be scheduled: %s", instance_uuid, reason)

    def instance_spawned(self, context, instance_uuid, host, power_state):
        orphan = False
        with transaction() as session:
            if instances.transition(
                    session, instance_uuid,
                    {"vm_state": states.BUILDING, "task_state": states.SPAWNING, "host": host},
                    vm_state=states.ACTIVE, task_state=None, power_state=power_state,
                    launched_at=models.utcnow()):
                actions.event(session, instance_uuid, "create",
                              "compute_build_and_run_instance", host=host)
                actions.finish(session, instance_uuid, "create")
                return
            instance = instances.get(session, instance_uuid)
            orphan = instance is None or instance.deleted or instance.host != host
        if orphan:
            # Deleted (or moved) while it was being built: the guest on this
            # host belongs to nobody, so have the host remove it.
            LOG.info("instance %s spawned on %s after it was deleted; cleaning up",
                     instance_uuid, host)
            casts.send(casts.terminate_instance(host, instance_uuid), context)

    def instance_spawn_failed(self, context, instance_uuid, host, reason, details=None):
        with transaction() as session:
            if instances.set_error(session, instance_uuid, reason,
                                   expect={"vm_state": states.BUILDING, "host": host},
                                   details=details):
                actions.event(session, instance_uuid, "create",
                              "compute_build_and_run_instance", host=host, result="Error",
                              details=details)
                actions.finish(session, instance_uuid, "create", "Error")
                LOG.warning("instance %s failed to spawn on %s: %s", instance_uuid, host,
                            reason)

    def instance_terminated(self, context, instance_uuid, host):
        with transaction() as session:
            if instances.mark_deleted(session, instance_uuid, host=host):
                actions.finish(session, instance_uuid, "delete")

    def compute_node_update(self, context, host, resources):
        with transaction() as session:
            services.upsert_compute_node(session, host, resources)
            services.heartbeat(session, host, "nova-lite-compute",
                               topology.compute_topic(host))
