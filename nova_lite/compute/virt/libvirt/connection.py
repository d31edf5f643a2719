"""The libvirt connection: opened on first use from [libvirt] connection_uri,
and opened again when libvirtd went away (restarted) in between."""
import contextlib
import logging
import threading

from nova_lite.conf import CONF

try:
    import libvirt
except ImportError:  # pragma: no cover - depends on the host
    libvirt = None

LOG = logging.getLogger(__name__)


class LibvirtUnavailable(Exception):
    pass


def require_libvirt():
    """The libvirt module, or a clear error naming what to install."""
    if libvirt is None:
        raise LibvirtUnavailable(
            "the libvirt driver needs the Python binding: pip install libvirt-python "
            "(it builds against the Debian packages libvirt-dev and pkg-config)")
    return libvirt


class Connection:
    """A lazily opened, self-healing libvirt connection (thread-safe)."""

    def __init__(self, uri=None):
        self._uri = uri
        self._conn = None
        self._lock = threading.Lock()

    @property
    def uri(self):
        return self._uri or CONF.libvirt.connection_uri

    def get(self):
        """An open virConnect, reconnecting if the previous one died."""
        with self._lock:
            if self._conn is not None and not _alive(self._conn):
                LOG.warning("libvirt connection to %s was lost; reconnecting", self.uri)
                self._conn = None
            if self._conn is None:
                self._conn = _open(self.uri)
            return self._conn

    def close(self):
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(Exception):     # it may be dead already
                    self._conn.close()
                self._conn = None


def _alive(conn):
    try:
        return bool(conn.isAlive())
    except Exception:  # noqa: BLE001 - any failure means reconnect
        return False


def _open(uri):
    lv = require_libvirt()
    # libvirt prints every error to stderr by default; errors are raised anyway.
    lv.registerErrorHandler(lambda _ctx, _err: None, None)
    try:
        conn = lv.open(uri)
    except lv.libvirtError as exc:
        raise LibvirtUnavailable(f"cannot connect to libvirt at {uri}: {exc} (is libvirtd "
                              "running? Debian package libvirt-daemon-system)") from exc
    LOG.info("connected to libvirt at %s (%s)", uri, conn.getType())
    return conn
