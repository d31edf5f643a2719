"""How an image row looks in Image v2 responses (Glance's flat view: core
attributes, links relative to the API root, then every custom property)."""
from nova_lite.api.timeutil import iso


def image_view(image):
    view = {
        "id": image.id,
        "name": image.name,
        "status": image.status,
        "visibility": image.visibility,
        "protected": image.protected,
        "os_hidden": False,
        "checksum": image.checksum,
        "os_hash_algo": image.os_hash_algo,
        "os_hash_value": image.os_hash_value,
        "owner": image.owner,
        "size": image.size,
        "virtual_size": image.virtual_size,
        "min_ram": image.min_ram,
        "min_disk": image.min_disk,
        "disk_format": image.disk_format,
        "container_format": image.container_format,
        "created_at": iso(image.created_at),
        "updated_at": iso(image.updated_at or image.created_at),
        "tags": list(image.tags or []),
        "self": f"/v2/images/{image.id}",
        "file": f"/v2/images/{image.id}/file",
        "schema": "/v2/schemas/image",
    }
    for key, value in (image.properties or {}).items():
        view.setdefault(key, value)
    return view
