"""Every change to an image: create, patch, delete, and the upload's status
walk ``queued -> saving -> active`` (back to ``queued`` if the upload fails).

Each change is one transaction on the row, with the rules that go with it:
only the owner (or admin) changes an image, only who the publicize_image
policy rule allows (admin by default) makes one public,
protected images are not deleted. The data itself is the store's business
(store/: PostgreSQL or files); this module decides when it is written and
removed, and the image becomes readable only when it turns ``active``. Used
by the Image v2 API and by the Compute API's images proxy (delete).
"""
import copy
import logging

import sqlalchemy
from sqlalchemy import exc as sa_exc

from nova_lite import exception
from nova_lite.api import validation
from nova_lite.api.image import patch, queries, schemas, store
from nova_lite.db import models
from nova_lite.db.models import new_uuid
from nova_lite.db.session import transaction

LOG = logging.getLogger(__name__)
Image = models.Image


def _require_owner(ctx, image):
    if not ctx.is_admin and (ctx.project_id is None or image.owner != ctx.project_id):
        raise exception.Forbidden(f"You are not permitted to modify image {image.id}.")


def _require_may_publish(ctx):
    """Glance's publicize_image rule (admins by default)."""
    ctx.authorize("publicize_image")


def _duplicate(image_id):
    return exception.Conflict(f"Image with identifier {image_id} already exists!")


def create(ctx, body):
    """A new ``queued`` image from a create body; returns the row."""
    if not isinstance(body, dict):
        raise exception.Invalid("The request body must be a JSON object.")
    for key in body:
        if key in schemas.READ_ONLY:
            raise exception.Forbidden(f"Attribute '{key}' is read-only.")
    validation.check(schemas.WRITABLE, body)
    doc = copy.deepcopy(schemas.MUTABLE)
    doc.update({k: v for k, v in body.items() if k not in schemas.CREATE_ONLY})
    core, properties = patch.split(doc)
    owner = body.get("owner", ctx.project_id)
    if not ctx.is_admin and (owner is None or owner != ctx.project_id):
        raise exception.Forbidden("An image is owned by the project of the token that "
                                  "creates it.")
    if core["visibility"] == "public":
        _require_may_publish(ctx)
    image_id = body.get("id", new_uuid()).lower()
    try:
        with transaction() as session:
            if session.get(Image, image_id) is not None:
                raise _duplicate(image_id)
            image = Image(id=image_id, owner=owner, status="queued",
                          properties=properties, **core)
            session.add(image)
    except sa_exc.IntegrityError:
        raise _duplicate(image_id) from None
    return image


def update(ctx, image_id, operations):
    """Apply a JSON patch to an image; returns the updated row."""
    with transaction() as session:
        image = queries.get_visible(session, ctx, image_id, lock=True)
        _require_owner(ctx, image)
        before = patch.document(image)
        after = patch.apply(before, operations)
        validation.check(schemas.WRITABLE, after)
        core, properties = patch.split(after)
        if core["visibility"] == "public" and before["visibility"] != "public":
            _require_may_publish(ctx)
        for key in ("disk_format", "container_format"):
            if core[key] != before[key] and image.status != "queued":
                raise exception.Forbidden(f"Attribute {key} can be only replaced for a "
                                          "queued image.")
        for key, value in core.items():
            setattr(image, key, value)
        image.properties = properties
    return image


def delete(ctx, image_id):
    """Mark the image deleted and remove its data."""
    with transaction() as session:
        image = queries.get_visible(session, ctx, image_id, lock=True)
        _require_owner(ctx, image)
        if image.protected:
            raise exception.Forbidden(f"Image {image.id} is protected and cannot be "
                                      "deleted.")
        image.deleted = True
        image.status = "deleted"
    store.delete(image.id)


def upload(ctx, image_id, stream, max_size):
    """Store ``stream`` as the image's data and make the image active."""
    image = _begin_upload(ctx, image_id)
    try:
        written = store.write(image.id, stream, max_size)
        _finish_upload(image.id, written)
    except BaseException:
        _abort_upload(image.id)
        raise


def _begin_upload(ctx, image_id):
    with transaction() as session:
        image = queries.get_visible(session, ctx, image_id, lock=True)
        _require_owner(ctx, image)
        if image.status != "queued":
            raise exception.Conflict(f"Image status transition from {image.status} to "
                                     "saving is not allowed.")
        if not (image.disk_format and image.container_format):
            raise exception.Invalid("Properties disk_format, container_format must be "
                                    "set prior to saving data.")
        image.status = "saving"
    return image


def _saving(image_id):
    return sqlalchemy.update(Image).where(
        Image.id == image_id, Image.status == "saving", ~Image.deleted)


def _finish_upload(image_id, written):
    with transaction() as session:
        result = session.execute(_saving(image_id).values(
            status="active", size=written.size, checksum=written.checksum,
            os_hash_algo=written.os_hash_algo, os_hash_value=written.os_hash_value))
        if result.rowcount != 1:
            raise exception.Conflict(f"Image {image_id} was deleted during the upload.")


def _abort_upload(image_id):
    """Remove what was written, then back to ``queued``; never hides the error
    that caused it. In that order: while the image is ``saving`` no other
    upload of it can start, so the removal cannot take another upload's data."""
    try:
        store.delete(image_id)
    except Exception:
        LOG.exception("could not remove the data of image %s after a failed upload",
                      image_id)
    try:
        with transaction() as session:
            session.execute(_saving(image_id).values(status="queued"))
    except Exception:
        LOG.exception("could not return image %s to queued after a failed upload",
                      image_id)
