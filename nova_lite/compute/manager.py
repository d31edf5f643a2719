"""The compute service's RPC handlers and its periodic reports."""
import dataclasses
import logging
import os
import tempfile
import traceback

from nova_lite.compute import locks
from nova_lite.compute import reports as build_reports
from nova_lite.compute.virt import driver as driver_mod
from nova_lite.conf import CONF
from nova_lite.network.host import plug as network_host
from nova_lite.objects import tasks
from nova_lite.rpc import casts

LOG = logging.getLogger(__name__)

# Steps whose handler is written out below (builds, deletes and snapshots end
# in reports of their own); every other step of nova_lite.objects.tasks runs
# through ComputeManager.run_step.
OWN_HANDLERS = ("build_and_run_instance", "terminate_instance", "snapshot_instance")
STEP_METHODS = tuple(m for m in tasks.HOST_METHODS if m not in OWN_HANDLERS)


def _some(addresses, shown=8):
    """A log's view of a list of addresses: all of a few, else a count."""
    addresses = list(addresses or ())
    if len(addresses) <= shown:
        return ", ".join(addresses) or "none"
    return f"{len(addresses)} addresses"


class ComputeManager:
    RPC_METHODS = (*OWN_HANDLERS, "get_console_output", "refresh_network",
                   "update_security_group_members", *STEP_METHODS)

    def __init__(self, driver=None, host=None, images=None, reports=None):
        self.host = host or CONF.host
        self.reports = reports or build_reports.DirectReports()
        self.driver = driver or driver_mod.load(CONF.compute.virt_driver)
        self._images = images
        self._locks = locks.InstanceLocks()
        self.sync_network(ask_all=True)

    @property
    def images(self):
        if self._images is None:
            from nova_lite.compute.image_service import ImageService
            self._images = ImageService()
        return self._images

    # -- build and delete ---------------------------------------------------------
    def build_and_run_instance(self, context, instance):
        uuid = instance["uuid"]
        with self._locks(uuid):
            if not self.driver.exists(uuid):
                try:
                    image = None
                    if self.driver.needs_image and instance.get("image_ref"):
                        image = self.images.download(instance["image_ref"])
                    if self.plugs_vifs:
                        network_host.plug(uuid, instance.get("network_info") or [])
                        self._ask_for_members(context)
                    self.driver.spawn(instance, image)
                except Exception as exc:  # noqa: BLE001 - any failure ends the build
                    LOG.warning("spawn of %s failed: %s", uuid, exc)
                    self._cleanup(uuid)
                    self._unplug(uuid)
                    casts.send(casts.instance_spawn_failed(
                        uuid, self.host, f"Build of instance {uuid} aborted: {exc}",
                        details=traceback.format_exc()[-4000:]), context)
                    return
            state = self.driver.power_state(uuid)
        self.reports.spawned(context, uuid, self.host, state)

    def terminate_instance(self, context, instance_uuid):
        with self._locks(instance_uuid):
            self.driver.destroy(instance_uuid)
            self._unplug(instance_uuid)
        self.reports.terminated(context, instance_uuid, self.host)

    def _cleanup(self, uuid):
        try:
            self.driver.destroy(uuid)
        except Exception:  # noqa: BLE001 - report the spawn error, log this one
            LOG.exception("cleanup of failed instance %s failed", uuid)

    # -- networking (nova_lite.network.host: bridges, dnsmasq, nftables) --------------
    @property
    def plugs_vifs(self):
        return CONF.network.enabled and self.driver.plugs_vifs

    def refresh_network(self, context, instances):
        """Re-apply DHCP, security groups and floating IPs with the new
        network_info of ``instances`` ({uuid: network_info}) plugged here."""
        LOG.info("network of %s changed%s", ", ".join(sorted(instances)),
                 "" if self.plugs_vifs else " (this driver plugs no NICs)")
        if self.plugs_vifs:
            network_host.refresh(instances)
            self._ask_for_members(context)

    def update_security_group_members(self, context, pass_number, updates, snapshots):
        """Addresses joined or left remote groups (nova_lite.network.membership):
        only the sets change. Groups no guest here names any more are
        answered with ``unwanted``, so this host stops hearing of them."""
        for group, entry in sorted(updates.items()):
            LOG.info("members of group %s (pass %d): joined %s, left %s", group,
                     pass_number, _some(entry.get("add")), _some(entry.get("remove")))
        for group, members in sorted(snapshots.items()):
            LOG.info("members of group %s (pass %d): %d in all", group, pass_number,
                     len(members))
        if not self.plugs_vifs:
            return
        unwanted = network_host.update_members(pass_number, updates, snapshots)
        if unwanted:
            casts.send(casts.security_group_members_unwanted(self.host, unwanted), context)

    def _ask_for_members(self, context=None, ask_all=False):
        """Ask for the members of the remote groups named here that this host
        has no record of (all of them with ``ask_all``: at start, when what
        was recorded may be stale)."""
        wanted = network_host.remote_groups() if ask_all else network_host.missing_groups()
        if wanted:
            casts.send(casts.security_group_members_wanted(self.host, wanted), context)

    def _unplug(self, uuid):
        """Remove the instance's network entries; a failure is logged (the next
        plug, refresh or unplug re-applies the host without them)."""
        if not self.plugs_vifs:
            return
        try:
            network_host.unplug(uuid)
        except Exception:  # noqa: BLE001 - the guest is gone either way
            LOG.exception("unplugging the network of %s failed", uuid)

    def sync_network(self, ask_all=False):
        """Re-apply what is plugged here: at start (bridges, dnsmasq, nftables
        may be gone after a reboot) and, run periodically, to restart a dnsmasq
        that died; and ask for the members of remote groups it lacks (all of
        them at start). Never raises."""
        if not self.plugs_vifs:
            return
        try:
            network_host.restore()
        except Exception:  # noqa: BLE001 - the service must keep running
            LOG.exception("re-applying the network of this host failed")
        try:
            self._ask_for_members(ask_all=ask_all)
        except Exception:  # noqa: BLE001 - asked again at the next sync
            LOG.exception("asking for security group members failed")

    # -- the steps of tasks (nova_lite.objects.tasks) -------------------------------
    def run_step(self, context, method, instance_uuid, task_state, instance=None,
                 **_older):
        """Run the step ``task_state`` of the instance's task: its driver call
        (undone by the step's undo if it fails), then report the result."""
        task, step = tasks.of(task_state)
        if step is None or step.method != method:
            LOG.warning("%s of %s: %s is not a step of it; ignored", method, instance_uuid,
                        task_state)
            return
        with self._locks(instance_uuid):
            try:
                self._driver_call(step, step.driver_call, instance_uuid, instance)
                power_state = self.driver.power_state(instance_uuid)
            except Exception as exc:  # noqa: BLE001 - reported to the conductor
                LOG.warning("%s of %s failed: %s", method, instance_uuid, exc)
                if step.undo:
                    self._undo(step, instance_uuid, instance)
                casts.send(casts.instance_action_failed(
                    instance_uuid, self.host, task_state,
                    f"{task.name} failed: {exc}",
                    details=traceback.format_exc()[-4000:]), context)
                return
        casts.send(casts.instance_action_done(
            instance_uuid, self.host, task_state,
            tasks.final_vm_state(task, power_state), power_state), context)

    def _driver_call(self, step, name, instance_uuid, instance):
        call = getattr(self.driver, name)
        if step.payload != tasks.INSTANCE:
            return call(instance_uuid, **dict(step.driver_args))
        if step.image:
            image = None
            if self.driver.needs_image and instance.get("image_ref"):
                image = self.images.download(instance["image_ref"])
            return call(instance, image)
        return call(instance)

    def _undo(self, step, instance_uuid, instance):
        try:
            self._driver_call(dataclasses.replace(step, image=False), step.undo,
                              instance_uuid, instance)
        except Exception:  # noqa: BLE001 - the step's failure is what is reported
            LOG.exception("undoing %s of %s failed", step.method, instance_uuid)

    # -- snapshot and console -------------------------------------------------------------
    def snapshot_instance(self, context, instance_uuid, image_id):
        workdir = os.path.join(CONF.state_path, "snapshots")
        os.makedirs(workdir, exist_ok=True)
        fd, path = tempfile.mkstemp(prefix=f"{image_id}.", dir=workdir)
        os.close(fd)
        error = None
        try:
            with self._locks(instance_uuid):
                disk_format = self.driver.snapshot(instance_uuid, path)
            self.images.upload(image_id, path, disk_format)
        except Exception as exc:  # noqa: BLE001 - reported to the conductor
            LOG.warning("snapshot of %s failed: %s", instance_uuid, exc)
            error = f"snapshot failed: {exc}"
        finally:
            if os.path.exists(path):
                os.unlink(path)
        casts.send(casts.snapshot_done(instance_uuid, self.host, image_id, error), context)

    def get_console_output(self, context, instance_uuid):
        return self.driver.console_output(instance_uuid)

    # -- periodic reports -------------------------------------------------------------------
    def report_resources(self):
        resources = dict(self.driver.host_resources())
        resources.update({
            "cpu_allocation_ratio": CONF.compute.cpu_allocation_ratio,
            "ram_allocation_ratio": CONF.compute.ram_allocation_ratio,
            "disk_allocation_ratio": CONF.compute.disk_allocation_ratio,
            "reserved_host_memory_mb": CONF.compute.reserved_host_memory_mb,
            "reserved_host_disk_mb": CONF.compute.reserved_host_disk_mb,
        })
        casts.send(casts.compute_node_update(self.host, resources))

    def sync_power_states(self):
        """Tell the conductor what the hypervisor says each guest is doing."""
        observed = {}
        for uuid in self.driver.list_instances():
            try:
                observed[uuid] = self.driver.power_state(uuid)
            except driver_mod.InstanceNotFound:
                continue
        casts.send(casts.power_states(self.host, observed))


def _step_handler(method):
    def handler(self, context, instance_uuid, task_state, instance=None, **older):
        self.run_step(context, method, instance_uuid, task_state, instance, **older)
    handler.__name__ = method
    handler.__doc__ = f"RPC {method}: a step of a task (nova_lite.objects.tasks)."
    return handler


for _method in STEP_METHODS:
    setattr(ComputeManager, _method, _step_handler(_method))
del _method
