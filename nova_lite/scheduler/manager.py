"""The scheduler's RPC handler: requests are placed in batches (batch.py),
each handler casting its own instance's message once its batch committed."""
import logging

from nova_lite.conf import CONF
from nova_lite.rpc import casts
from nova_lite.scheduler import batch

LOG = logging.getLogger(__name__)
NO_VALID_HOST = batch.NO_VALID_HOST


class SchedulerManager:
    RPC_METHODS = ("schedule_instance", "schedule_instances")

    def __init__(self):
        self._batcher = batch.Batcher(batch.schedule)

    @property
    def rpc_concurrency(self):
        """Handler threads (and prefetch): one per request a batch may hold."""
        return CONF.scheduler.batch_size

    def schedule_instance(self, context, instance_uuid):
        message = self._batcher.submit(instance_uuid, context)
        if message is not None:
            casts.send(message, context)

    def schedule_instances(self, context, instance_uuids):
        """A multi-create's instances, in one message: placed together; the
        delivery is acknowledged once every message they lead to is confirmed."""
        for message in self._batcher.submit_many(instance_uuids, context):
            if message is not None:
                casts.send(message, context)
