"""JSON patch for images (``application/openstack-images-v2.1-json-patch``).

An image's writable part is a flat document: the ``schemas.MUTABLE`` core
attributes plus its custom properties. ``apply`` runs add/replace/remove
operations on it the way Glance does (``add`` also overwrites, ``replace`` and
``remove`` of a missing custom property are 409, ``remove`` of a core
attribute restores its default, read-only attributes are 403); the caller then
validates the result against ``schemas.WRITABLE``.
"""
import copy

from nova_lite import exception
from nova_lite.api.image import schemas

MEDIA_TYPE = "application/openstack-images-v2.1-json-patch"
OPERATIONS = ("add", "replace", "remove")


def document(image):
    """The writable document of an image row."""
    doc = {"name": image.name, "visibility": image.visibility,
           "protected": image.protected, "os_hidden": False,
           "min_disk": image.min_disk, "min_ram": image.min_ram,
           "disk_format": image.disk_format, "container_format": image.container_format,
           "tags": list(image.tags or [])}
    doc.update(image.properties or {})
    return doc


def split(doc):
    """(core attributes, custom properties) of a document; ``os_hidden`` is
    always false and is not stored."""
    core = {k: v for k, v in doc.items() if k in schemas.MUTABLE and k != "os_hidden"}
    properties = {k: v for k, v in doc.items() if k not in schemas.MUTABLE}
    return core, properties


def apply(doc, operations):
    """A new document: ``doc`` with ``operations`` (a JSON-patch list) applied."""
    if not isinstance(operations, list):
        raise exception.Invalid("A JSON patch must be a list of operations.")
    result = copy.deepcopy(doc)
    for operation in operations:
        op, attribute, value = _parse(operation)
        if op == "add":
            result[attribute] = value
        elif op == "replace":
            _require_present(result, attribute)
            result[attribute] = value
        elif attribute in schemas.MUTABLE:
            result[attribute] = copy.deepcopy(schemas.MUTABLE[attribute])
        else:
            _require_present(result, attribute)
            del result[attribute]
    return result


def _parse(operation):
    if not isinstance(operation, dict):
        raise exception.Invalid("Each JSON patch operation must be an object.")
    op = operation.get("op")
    if op not in OPERATIONS:
        raise exception.Invalid(f"Operation {op!r} is not supported; use one of "
                                f"{', '.join(OPERATIONS)}.")
    attribute = _attribute(operation.get("path"))
    if attribute in schemas.READ_ONLY or attribute in schemas.CREATE_ONLY:
        raise exception.Forbidden(f"Attribute '{attribute}' is read-only.")
    if op != "remove" and "value" not in operation:
        raise exception.Invalid(f"Operation {op!r} needs a 'value'.")
    return op, attribute, copy.deepcopy(operation.get("value"))


def _attribute(path):
    """``/name`` -> ``name`` (JSON pointer, one level deep only)."""
    if not isinstance(path, str) or not path.startswith("/") or len(path) < 2:
        raise exception.Invalid(f"Invalid JSON pointer for this resource: {path!r}")
    segments = path[1:].split("/")
    if len(segments) != 1:
        raise exception.Invalid(f"Nested paths are not allowed: {path!r}")
    return segments[0].replace("~1", "/").replace("~0", "~")


def _require_present(doc, attribute):
    if attribute not in doc:
        raise exception.Conflict(f"Property {attribute} does not exist.")
