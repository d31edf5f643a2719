"""The scheduler's RPC handler: run the pipeline, claim, hand over to the host."""
import logging

from nova_lite.conf import CONF
from nova_lite.db import actions, instances, services
from nova_lite.db.session import reader, transaction
from nova_lite.objects import payloads, states
from nova_lite.rpc import casts
from nova_lite.scheduler import claim as claim_mod
from nova_lite.scheduler import pipeline
from nova_lite.scheduler.request import Request

LOG = logging.getLogger(__name__)
NO_VALID_HOST = "No valid host was found. "


class SchedulerManager:
    RPC_METHODS = ("schedule_instance",)

    def schedule_instance(self, context, instance_uuid):
        with reader() as session:
            instance = instances.get(session, instance_uuid)
        if instance is None or instance.deleted:
            return
        if instance.task_state != states.SCHEDULING:
            self._redrive(context, instance)
            return
        request = Request(instance_uuid=instance.uuid, vcpus=instance.vcpus,
                          memory_mb=instance.memory_mb,
                          disk_gb=instance.root_gb + instance.ephemeral_gb,
                          availability_zone=instance.availability_zone)
        with reader() as session:
            # Checked before the candidates (liveness only moves forward), so a
            # report landing in between cannot turn an outage into a failure.
            if not services.any_compute_up(session):
                # No compute has reported lately: the bus that carries their
                # reports was out, not every host. Leave the instance waiting;
                # the conductor's reconciler sends it here again.
                LOG.warning("instance %s: no compute service has reported in the last "
                            "%d s; leaving it to be retried", instance_uuid,
                            CONF.service_down_time)
                return
            hosts = pipeline.select_hosts(session, request)
        for host in hosts[:CONF.scheduler.max_claim_attempts]:
            try:
                with transaction() as session:
                    if not claim_mod.claim(session, host, request):
                        continue
                    actions.event(session, instance.uuid, "create", "schedule_instances",
                                  host=host.host)
                    placed = instances.get(session, instance.uuid)
                    payload = payloads.instance_payload(placed)
            except claim_mod.LostRace:
                LOG.info("instance %s changed while being scheduled; dropping", instance_uuid)
                return
            LOG.info("instance %s placed on %s", instance_uuid, host.host)
            casts.send(casts.build_and_run_instance(host.host, payload), context)
            return
        reason = NO_VALID_HOST + (f"There are not enough hosts available "
                                  f"(tried {min(len(hosts), CONF.scheduler.max_claim_attempts)} "
                                  f"of {len(hosts)} candidates).")
        casts.send(casts.schedule_failed(instance_uuid, reason), context)

    def _redrive(self, context, instance):
        """A redelivered request for an instance already placed: make sure its
        host got the build (the cast may have been lost in a crash)."""
        if instance.vm_state == states.BUILDING and instance.task_state == states.SPAWNING \
                and instance.host:
            casts.send(casts.build_and_run_instance(instance.host,
                                                    payloads.instance_payload(instance)),
                       context)
