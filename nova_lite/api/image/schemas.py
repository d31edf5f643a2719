"""The image JSON schema, defined once: it validates create bodies and patched
images, and it is what GET /image/v2/schemas/image(s) serves to clients.

Attribute classes (Glance v2 names):
- ``MUTABLE``    core attributes a user sets, with the value a ``remove`` restores
- ``CREATE_ONLY`` set on create, read-only afterwards (``id``, ``owner``)
- ``READ_ONLY``  computed by the server; sending one is a 403 like Glance's
Every other top-level key is a custom property: a string to string pair.
"""
import copy

import flask

from nova_lite.api.middleware.auth import public

DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi",
                "iso", "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
VISIBILITIES = ("public", "private", "shared", "community")
STATUSES = ("queued", "saving", "active", "killed", "deleted")

MUTABLE = {"name": None, "visibility": "shared", "protected": False, "os_hidden": False,
           "min_disk": 0, "min_ram": 0, "disk_format": None, "container_format": None,
           "tags": []}
CREATE_ONLY = ("id", "owner")
READ_ONLY = ("status", "checksum", "os_hash_algo", "os_hash_value", "size",
             "virtual_size", "created_at", "updated_at", "self", "file", "schema",
             "locations", "direct_url", "stores")

_TEXT = r"^[^\x00]*$"                  # PostgreSQL text and JSONB cannot hold NUL
_INT32 = {"type": "integer", "minimum": 0, "maximum": 2 ** 31 - 1}
_NULLABLE_STRING = {"type": ["null", "string"], "maxLength": 255, "pattern": _TEXT}

_CORE = {
    "id": {"type": "string", "description": "An identifier for the image",
           "pattern": r"^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
                      r"-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"},
    "name": dict(_NULLABLE_STRING, description="Descriptive name for the image"),
    "owner": {"type": ["null", "string"], "maxLength": 36, "pattern": _TEXT,
              "description": "Owner of the image"},
    "visibility": {"type": "string", "enum": list(VISIBILITIES),
                   "description": "Scope of image accessibility"},
    "protected": {"type": "boolean",
                  "description": "If true, image will not be deletable."},
    "os_hidden": {"type": "boolean", "enum": [False],
                  "description": "Hidden images are not supported: always false."},
    "min_disk": dict(_INT32, description="Amount of disk space (in GB) required "
                                         "to boot image."),
    "min_ram": dict(_INT32, description="Amount of ram (in MB) required to boot image."),
    "disk_format": {"type": ["null", "string"], "enum": [None, *DISK_FORMATS],
                    "description": "Format of the disk"},
    "container_format": {"type": ["null", "string"], "enum": [None, *CONTAINER_FORMATS],
                         "description": "Format of the container"},
    "tags": {"type": "array", "uniqueItems": True,
             "items": {"type": "string", "maxLength": 255, "pattern": _TEXT},
             "description": "List of strings related to the image"},
}
_CUSTOM_VALUE = {"type": "string", "maxLength": 65535, "pattern": _TEXT}
_CUSTOM_NAME = {"minLength": 1, "maxLength": 255, "pattern": _TEXT}

# What a create body, or an image after a patch, must satisfy.
WRITABLE = {
    "type": "object",
    "properties": _CORE,
    "propertyNames": _CUSTOM_NAME,
    "additionalProperties": _CUSTOM_VALUE,
}

_READ_ONLY_DOC = {
    "status": {"type": "string", "enum": list(STATUSES), "readOnly": True},
    "checksum": {"type": ["null", "string"], "maxLength": 32, "readOnly": True},
    "os_hash_algo": {"type": ["null", "string"], "maxLength": 64, "readOnly": True},
    "os_hash_value": {"type": ["null", "string"], "maxLength": 128, "readOnly": True},
    "size": {"type": ["null", "integer"], "readOnly": True},
    "virtual_size": {"type": ["null", "integer"], "readOnly": True},
    "created_at": {"type": "string", "readOnly": True},
    "updated_at": {"type": "string", "readOnly": True},
    "self": {"type": "string", "readOnly": True},
    "file": {"type": "string", "readOnly": True},
    "schema": {"type": "string", "readOnly": True},
}


def image_document():
    """The served ``image`` schema (Glance's shape)."""
    properties = copy.deepcopy(_CORE)
    properties.update(copy.deepcopy(_READ_ONLY_DOC))
    return {
        "name": "image",
        "properties": properties,
        "additionalProperties": dict(_CUSTOM_VALUE),
        "links": [{"rel": "self", "href": "{self}"},
                  {"rel": "enclosure", "href": "{file}"},
                  {"rel": "describedby", "href": "{schema}"}],
    }


def images_document():
    """The served ``images`` (list) schema."""
    return {
        "name": "images",
        "properties": {
            "images": {"type": "array", "items": image_document()},
            "schema": {"type": "string"},
            "first": {"type": "string"},
            "next": {"type": "string"},
        },
        "links": [{"rel": "first", "href": "{first}"},
                  {"rel": "next", "href": "{next}"},
                  {"rel": "describedby", "href": "{schema}"}],
    }


@public
def show_image_schema():
    return flask.jsonify(image_document())


@public
def show_images_schema():
    return flask.jsonify(images_document())


def register(bp):
    bp.add_url_rule("/v2/schemas/image", "image_schema", show_image_schema)
    bp.add_url_rule("/v2/schemas/images", "images_schema", show_images_schema)
