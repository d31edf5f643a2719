"""[image]: the Image v2 subset; where image data is kept."""
from oslo_config import cfg

group = cfg.OptGroup("image", help="Image service (Glance v2 subset).")
opts = [
    cfg.StrOpt("store", default="database",
               choices=[
                   ("database", "In PostgreSQL, table image_chunks (1 MiB rows): "
                                "every controller serves every image, and the "
                                "database holds all the state."),
                   ("file", "One file per image under storage_dir: only for a "
                            "single controller, or a storage_dir every "
                            "controller mounts (NFS, CephFS)."),
               ],
               help="Where uploaded image data is kept. The database grows by "
                    "the size of the images (and so do its backups). Changing "
                    "it does not move images already uploaded: with database, "
                    "an image that has no chunks is still read from its file "
                    "under storage_dir, on the controller that has it."),
    cfg.StrOpt("storage_dir", default="/var/lib/nova-lite/images",
               help="Directory of image files: where store = file keeps them, "
                    "and where store = database still finds images uploaded "
                    "before it was used."),
    cfg.IntOpt("max_image_size", default=20 * 1024 ** 3, min=1,
               help="Largest image upload accepted, in bytes."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return [(group.name, opts)]
