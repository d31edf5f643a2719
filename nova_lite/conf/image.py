"""[image]: the Image v2 subset; image files live on local disk."""
from oslo_config import cfg

group = cfg.OptGroup("image", help="Image service (Glance v2 subset).")
opts = [
    cfg.StrOpt("storage_dir", default="/var/lib/nova-lite/images",
               help="Directory where uploaded image files are kept."),
    cfg.IntOpt("max_image_size", default=20 * 1024 ** 3, min=1,
               help="Largest image upload accepted, in bytes."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return [(group.name, opts)]
