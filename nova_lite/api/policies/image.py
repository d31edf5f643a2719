"""Image v2 rules, named as Glance names them (glance/policies/image.py),
paths relative to /image/v2. The Compute API's /images proxy (Nova checks
no rule of its own there: Glance does) checks the same rules."""
from nova_lite.api.policies import base

_rule = base.rule

rules = [
    _rule("add_image", base.PROJECT_MEMBER_OR_ADMIN, "Create an image",
          ("POST", "/images")),
    _rule("get_images", base.PROJECT_READER_OR_ADMIN,
          "List images (also the Compute API's GET /images and /images/detail)",
          ("GET", "/images"), ("GET", "/images/detail")),
    _rule("get_image", base.PROJECT_READER_OR_ADMIN,
          "Show an image (also the Compute API's GET /images/{image_id})",
          ("GET", "/images/{image_id}")),
    _rule("modify_image", base.PROJECT_MEMBER_OR_ADMIN, "Update an image",
          ("PATCH", "/images/{image_id}")),
    base.refine("publicize_image", base.ADMIN, "Make an image public (visibility public)",
                ("POST", "/images"), ("PATCH", "/images/{image_id}")),
    _rule("delete_image", base.PROJECT_MEMBER_OR_ADMIN,
          "Delete an image (also the Compute API's DELETE /images/{image_id})",
          ("DELETE", "/images/{image_id}")),
    _rule("upload_image", base.PROJECT_MEMBER_OR_ADMIN, "Upload an image's data",
          ("PUT", "/images/{image_id}/file")),
    _rule("download_image", base.PROJECT_READER_OR_ADMIN, "Download an image's data",
          ("GET", "/images/{image_id}/file")),
]


def list_rules():
    return rules
