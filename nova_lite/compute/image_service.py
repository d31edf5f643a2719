"""How a compute host gets image files, and uploads snapshots: the Image API
(``image`` in the service catalog), called as the service user of
[service_auth] through a keystoneauth1 session.

Downloaded images are cached as ``<instances_path>/_base/<image id>`` (Nova's
layout; instances_path defaults to ``<state_path>/instances``). Not under
``<state_path>/images``: that is the Image API's file store ([image] store =
file) on an all-in-one host, kept 0750, and QEMU (running as libvirt-qemu) must reach the base
images its overlays point at. Each is fetched to a temporary file in that directory, its md5 compared with
the image record's ``checksum``, then renamed into place, so a cached file is
always complete and verified and is simply reused. A lock file per image
(flock) makes concurrent builds from one image, in threads or processes,
download it once. A base file is 0640, root's and QEMU's group's (an image
may be a project's private one).
"""
import contextlib
import fcntl
import hashlib
import logging
import os
import tempfile

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from nova_lite.compute.virt.driver import LocalImage
from nova_lite.compute.virt.libvirt import disks
from nova_lite.conf import CONF

LOG = logging.getLogger(__name__)
CHUNK_SIZE = 1024 * 1024
SERVICE_TYPE = "image"
OCTET_STREAM = "application/octet-stream"
CACHE_SUBDIR = "_base"
JSON_PATCH = "application/openstack-images-v2.1-json-patch"


class ImageServiceError(Exception):
    pass


def service_session():
    """A keystoneauth1 session authenticated as [service_auth]'s user."""
    auth = CONF.service_auth
    if not auth.auth_url:
        raise ImageServiceError("[service_auth] auth_url is not set: the compute host "
                                "cannot reach the Image API")
    plugin = v3.Password(auth_url=auth.auth_url, username=auth.username,
                         password=auth.password, project_name=auth.project_name,
                         user_domain_name="Default", project_domain_name="Default")
    return ks_session.Session(auth=plugin)


class ImageService:
    def __init__(self, session=None, cache_dir=None):
        self._session = session
        self.cache_dir = cache_dir or os.path.join(disks.instances_path(), CACHE_SUBDIR)

    @property
    def session(self):
        if self._session is None:
            self._session = service_session()
        return self._session

    def _request(self, method, path, **kwargs):
        kwargs.setdefault("endpoint_filter", {"service_type": SERVICE_TYPE,
                                              "interface": "public",
                                              "region_name": CONF.service_auth.region_name})
        kwargs.setdefault("raise_exc", False)
        response = self.session.request(path, method, **kwargs)
        if response.status_code >= 400:
            raise ImageServiceError(f"{method} image API {path}: HTTP {response.status_code} "
                                    f"{response.text[:500]}")
        return response

    def show(self, image_id):
        return self._request("GET", f"/v2/images/{image_id}").json()

    def download(self, image_id):
        """The image's file on this host (a LocalImage), fetched once."""
        record = self.show(image_id)
        if record.get("status") != "active":
            raise ImageServiceError(f"image {image_id} is {record.get('status')}, not active")
        path = os.path.join(self.cache_dir, image_id)
        with self._lock(image_id):
            if not os.path.exists(path):
                self._fetch(image_id, record.get("checksum"), path)
        return LocalImage(image_id, path, record["disk_format"])

    def _fetch(self, image_id, checksum, path):
        response = self._request("GET", f"/v2/images/{image_id}/file", stream=True)
        fd, partial = tempfile.mkstemp(dir=self.cache_dir, prefix=f".{image_id}.",
                                       suffix=".part")
        try:
            md5 = hashlib.md5(usedforsecurity=False)
            with os.fdopen(fd, "wb") as out:
                for chunk in response.iter_content(CHUNK_SIZE):
                    md5.update(chunk)
                    out.write(chunk)
            if checksum and md5.hexdigest() != checksum:
                raise ImageServiceError(f"image {image_id} arrived corrupted: md5 "
                                        f"{md5.hexdigest()}, the record says {checksum}")
            # QEMU's group reads it (the image may be another project's
            # private one: not every local user).
            os.chmod(partial, 0o640)
            if os.geteuid() == 0:
                os.chown(partial, 0, disks.qemu_owner()[1])
            os.replace(partial, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)
            raise
        finally:
            response.close()
        LOG.info("downloaded image %s to %s", image_id, path)

    @contextlib.contextmanager
    def _lock(self, image_id):
        disks.make_traversable_dir(self.cache_dir)     # QEMU's user reads the bases
        with open(os.path.join(self.cache_dir, f".{image_id}.lock"), "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def upload(self, image_id, path, disk_format):
        """PUT the file at ``path`` as the data of the queued image ``image_id``
        (streamed), first recording its ``disk_format`` (and container_format
        bare if unset) on the image when the record says otherwise."""
        record = self.show(image_id)
        changes = []
        if record.get("disk_format") != disk_format:
            changes.append({"op": "replace", "path": "/disk_format", "value": disk_format})
        if not record.get("container_format"):
            changes.append({"op": "replace", "path": "/container_format", "value": "bare"})
        if changes:
            self._request("PATCH", f"/v2/images/{image_id}", json=changes,
                          headers={"Content-Type": JSON_PATCH})
        size = os.path.getsize(path)
        with open(path, "rb") as data:     # a file body: streamed, with Content-Length
            self._request("PUT", f"/v2/images/{image_id}/file", data=data,
                          headers={"Content-Type": OCTET_STREAM})
        LOG.info("uploaded %s (%d bytes, %s) as image %s", path, size, disk_format, image_id)

