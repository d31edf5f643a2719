"""[libvirt] and [service_auth]: the libvirt driver, and the credentials a
compute host uses to fetch and upload images through the Image API."""
from oslo_config import cfg

group = cfg.OptGroup("libvirt", help="The libvirt virt driver.")
opts = [
    cfg.StrOpt("connection_uri", default="qemu:///system",
               help="libvirt connection URI (test:///default for unit tests)."),
    cfg.StrOpt("virt_type", default="auto", choices=["auto", "kvm", "qemu"],
               help="Domain type. 'auto' uses kvm only if a tiny probe guest really "
                    "runs under it, else qemu (TCG)."),
    cfg.StrOpt("instances_path", help="Where instance disks and console logs live. "
                                      "Defaults to <state_path>/instances."),
    cfg.StrOpt("qemu_conf", default="/etc/libvirt/qemu.conf",
               help="libvirtd's QEMU configuration, read for the user and group "
                    "QEMU runs as (its 'user' and 'group'; when it sets none, "
                    "Debian's libvirt-qemu (user and group) if it exists, else root). A "
                    "guest's files (root disk, config drive, console log) are given "
                    "to that user with mode 0600, and its instance directory to "
                    "that group with mode 0750, whatever the umask."),
    cfg.IntOpt("graceful_shutdown_timeout", default=30, min=0,
               help="Seconds to wait for a guest to shut down before forcing it off."),
]

auth_group = cfg.OptGroup("service_auth",
                          help="Credentials services use to call the nova-lite API.")
auth_opts = [
    cfg.StrOpt("auth_url", help="Identity endpoint, e.g. http://host:8774/identity/v3."),
    cfg.StrOpt("username", default="nova-lite", help="Service user name."),
    cfg.StrOpt("password", secret=True, help="Service user password."),
    cfg.StrOpt("project_name", default="service", help="Project of the service user."),
    cfg.StrOpt("region_name", default="RegionOne", help="Region to pick endpoints in."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)
    conf.register_group(auth_group)
    conf.register_opts(auth_opts, group=auth_group)


def list_opts():
    return [(group.name, opts), (auth_group.name, auth_opts)]
