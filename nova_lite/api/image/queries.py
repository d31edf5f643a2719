"""Which images a request may see, and pages of them. The one place both the
Image v2 API and the Compute API's images proxy read images from.

Visibility: admin sees every image; anyone else sees ``public`` images and
every image owned by the token's project. Deleted images are never returned.
Pages are keyset pages: the marker is the last image seen, and the next page
starts strictly after it in the requested sort order (``id`` breaks ties).
"""
import dataclasses
from typing import NamedTuple

from sqlalchemy import and_, bindparam, func, or_, select

from nova_lite import exception
from nova_lite.api.validation import is_uuid
from nova_lite.db import models

Image = models.Image

# Sortable keys -> a NULL-free expression, so keyset comparisons never meet NULL.
SORT_KEYS = {
    "created_at": Image.created_at,
    "updated_at": func.coalesce(Image.updated_at, Image.created_at),
    "name": func.coalesce(Image.name, ""),
    "status": Image.status,
    "id": Image.id,
    "size": func.coalesce(Image.size, -1),
    "min_disk": Image.min_disk,
    "min_ram": Image.min_ram,
    "visibility": Image.visibility,
    "owner": func.coalesce(Image.owner, ""),
    "disk_format": func.coalesce(Image.disk_format, ""),
    "container_format": func.coalesce(Image.container_format, ""),
}
DEFAULT_SORT = (("created_at", "desc"),)


@dataclasses.dataclass
class Filters:
    """Conditions on the images a list returns; ``None`` means no condition."""
    ids: tuple | None = None
    names: tuple | None = None
    statuses: tuple | None = None
    visibility: str | None = None
    owner: str | None = None
    tags: tuple = ()
    protected: bool | None = None
    size_min: int | None = None
    size_max: int | None = None
    min_disk: int | None = None
    min_ram: int | None = None
    properties: dict = dataclasses.field(default_factory=dict)
    nothing: bool = False          # a filter no image can match (e.g. os_hidden=true)


def visible(ctx, *columns):
    """SELECT of the images ``ctx`` may see (whole rows, or just ``columns``)."""
    query = select(*columns) if columns else select(Image)
    query = query.where(~Image.deleted)
    if ctx.is_admin:
        return query
    if ctx.project_id is None:
        return query.where(Image.visibility == "public")
    return query.where(or_(Image.visibility == "public", Image.owner == ctx.project_id))


class _Viewer(NamedTuple):
    is_admin: bool
    project_id: object


# What server create needs of an image, by who asks: statements built once.
_BOOT_FACTS = (Image.id, Image.status, Image.min_ram, Image.min_disk)
_BOOTABLE = {
    kind: visible(viewer, *_BOOT_FACTS).where(Image.id == bindparam("image_id"))
    for kind, viewer in (("admin", _Viewer(True, None)), ("anonymous", _Viewer(False, None)),
                         ("project", _Viewer(False, bindparam("project_id"))))}


def boot_facts(session, ctx, image_id):
    """(id, status, min_ram, min_disk) of ``image_id`` if ``ctx`` may see it,
    else None (``image_id`` a canonical UUID, any case)."""
    kind = "admin" if ctx.is_admin else "anonymous" if ctx.project_id is None else "project"
    return session.connection().execute(_BOOTABLE[kind], {
        "image_id": image_id.lower(), "project_id": ctx.project_id}).first()


def get_visible(session, ctx, image_id, lock=False):
    """The image ``image_id`` if ``ctx`` may see it, else 404 (also for a non-UUID)."""
    image = None
    if is_uuid(image_id):
        query = visible(ctx).where(Image.id == image_id.lower())
        if lock:
            query = query.with_for_update()
        image = session.scalars(query).first()
    if image is None:
        raise exception.NotFound(f"No image found with ID {image_id}")
    return image


def _where(filters):
    conditions = []
    if filters.nothing:
        conditions.append(Image.id.is_(None))
    if filters.ids is not None:
        conditions.append(Image.id.in_(filters.ids))
    if filters.names is not None:
        conditions.append(Image.name.in_(filters.names))
    if filters.statuses is not None:
        conditions.append(Image.status.in_(filters.statuses))
    if filters.visibility is not None:
        conditions.append(Image.visibility == filters.visibility)
    if filters.owner is not None:
        conditions.append(Image.owner == filters.owner)
    for tag in filters.tags:
        conditions.append(Image.tags.contains([tag]))
    if filters.protected is not None:
        conditions.append(Image.protected.is_(filters.protected))
    if filters.size_min is not None:
        conditions.append(Image.size >= filters.size_min)
    if filters.size_max is not None:
        conditions.append(Image.size <= filters.size_max)
    if filters.min_disk is not None:
        conditions.append(Image.min_disk >= filters.min_disk)
    if filters.min_ram is not None:
        conditions.append(Image.min_ram >= filters.min_ram)
    for key, value in filters.properties.items():
        conditions.append(Image.properties[key].astext == value)
    return conditions


def _after(session, ctx, sort, marker):
    """The keyset condition "sorts after the marker image", or 400 if the marker
    is not an image this context can see."""
    try:
        get_visible(session, ctx, marker)
    except exception.NotFound:
        raise exception.Invalid(f"Marker {marker} could not be found.") from None
    exprs = [SORT_KEYS[key] for key, _ in sort]
    values = session.execute(select(*exprs).where(Image.id == marker.lower())).one()
    alternatives = []
    for i, (key, direction) in enumerate(sort):
        expr = SORT_KEYS[key]
        beyond = expr > values[i] if direction == "asc" else expr < values[i]
        equal_before = [SORT_KEYS[k] == values[j] for j, (k, _) in enumerate(sort[:i])]
        alternatives.append(and_(*equal_before, beyond))
    return or_(*alternatives)


def page(session, ctx, filters=None, sort=DEFAULT_SORT, limit=None, marker=None):
    """Visible images matching ``filters``, in ``sort`` order ((key, "asc"|"desc")
    pairs, keys from SORT_KEYS), at most ``limit``, starting after ``marker``."""
    sort = list(sort)
    if "id" not in (key for key, _ in sort):
        sort.append(("id", sort[-1][1] if sort else "desc"))
    query = visible(ctx).where(*_where(filters or Filters()))
    if marker is not None:
        query = query.where(_after(session, ctx, sort, marker))
    for key, direction in sort:
        expr = SORT_KEYS[key]
        query = query.order_by(expr.asc() if direction == "asc" else expr.desc())
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).all()
