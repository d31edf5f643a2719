"""The Glance image view and its timestamps (no database)."""
import datetime
import types

from nova_lite.api import timeutil
from nova_lite.api.image import views

BERLIN = datetime.timezone(datetime.timedelta(hours=2))


def test_timestamps_are_utc_whatever_the_zone():
    moment = datetime.datetime(2024, 5, 1, 14, 30, 5, 123456, tzinfo=BERLIN)
    assert timeutil.iso(moment) == "2024-05-01T12:30:05Z"
    assert timeutil.iso_micro(moment) == "2024-05-01T12:30:05.123456"
    assert timeutil.iso(None) is None


def test_image_view_flattens_properties_without_shadowing_core_fields():
    created = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    image = types.SimpleNamespace(
        id="i1", name="cirros", status="active", visibility="public", protected=False,
        checksum="c", os_hash_algo="sha512", os_hash_value="h", owner="p", size=3,
        virtual_size=None, min_ram=0, min_disk=0, disk_format="qcow2",
        container_format="bare", created_at=created, updated_at=None, tags=["t"],
        properties={"os_distro": "cirros", "status": "not me"})
    view = views.image_view(image)
    assert view["os_distro"] == "cirros"
    assert view["status"] == "active"
    assert view["created_at"] == view["updated_at"] == "2024-01-02T03:04:05Z"
    assert view["os_hidden"] is False
    assert (view["self"], view["file"], view["schema"]) == (
        "/v2/images/i1", "/v2/images/i1/file", "/v2/schemas/image")
