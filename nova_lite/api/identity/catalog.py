"""The service catalog every token response carries."""
from nova_lite.api import links
from nova_lite.conf import CONF

SERVICES = (
    # (type, name, path under the API's base URL)
    ("identity", "keystone", "/identity"),
    ("compute", "nova", "/compute/v2.1"),
    ("image", "glance", "/image"),
    ("network", "neutron", "/network"),
)


def build():
    base = links.base_url()
    region = CONF.identity.region_name
    catalog = []
    for index, (service_type, name, path) in enumerate(SERVICES):
        url = base + path
        catalog.append({
            "id": f"{index:032x}",
            "type": service_type,
            "name": name,
            "endpoints": [
                {"id": f"{index:031x}{i}", "interface": interface, "region": region,
                 "region_id": region, "url": url}
                for i, interface in enumerate(("public", "internal", "admin"))
            ],
        })
    return catalog
