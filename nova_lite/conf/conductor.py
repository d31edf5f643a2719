"""[conductor]: the reconciler that keeps every task bounded in time.

PostgreSQL is the truth and messages are nudges: a task whose instance has
not moved for ``redrive_after`` seconds is nudged again (idempotently), and one
that has not finished by its deadline is ended with a fault, so no instance
stays in BUILD, deleting or rebooting forever."""
from oslo_config import cfg

group = cfg.OptGroup("conductor", help="Conductor and its task reconciler.")
opts = [
    cfg.ListOpt("network_refresh_skip_hypervisors", default=["sim"],
                help="Hypervisor types whose hosts have no network data plane: the "
                     "conductor sends them no refresh_network and no security group "
                     "membership updates (simulated hosts)."),
    cfg.IntOpt("reconcile_interval", default=30, min=1,
               help="Seconds between passes of the task reconciler."),
    cfg.IntOpt("redrive_after", default=60, min=1,
               help="A task whose instance has not moved for this long is sent its "
                    "message again."),
    cfg.IntOpt("build_timeout", default=900, min=1,
               help="A build not ACTIVE after this many seconds ends in ERROR with a "
                    "fault (Nova's instance_build_timeout defaults to never)."),
    cfg.IntOpt("delete_timeout", default=600, min=1,
               help="A delete not finished after this long is completed in the database "
                    "(claim released); the host removes the guest when it next reports."),
    cfg.IntOpt("action_timeout", default=600, min=1,
               help="A stop/start/reboot/pause/suspend/resume/rebuild/resize/"
                    "confirm/revert step not finished after this long is undone as its "
                    "task says (nova_lite.objects.tasks) with a fault; the power-state "
                    "sync corrects the power state."),
    cfg.IntOpt("snapshot_timeout", default=3600, min=1,
               help="A snapshot not finished after this long is abandoned with a fault."),
    cfg.IntOpt("reconcile_batch", default=500, min=1,
               help="Most tasks a reconciler pass ends by their deadline, and most it "
                    "nudges (two batches: expiry first, so a backlog of tasks to "
                    "nudge never delays one past its deadline)."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return [(group.name, opts)]
