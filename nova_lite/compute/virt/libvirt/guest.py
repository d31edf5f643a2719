"""Finding this driver's domains, and tolerating libvirt's "already so" errors.

A domain is ours when it is named ``nova-lite-<uuid>`` AND carries the
nova-lite metadata element naming this compute service's host
(``[DEFAULT] host``); anything else on the libvirtd is left alone, including
the guests of another nova-lite compute service sharing it.
"""
import contextlib
import xml.etree.ElementTree as ET

from nova_lite.compute.virt.libvirt import domain_xml
from nova_lite.compute.virt.libvirt.connection import require_libvirt
from nova_lite.conf import CONF


def lookup(conn, instance_uuid):
    """This driver's domain of the instance, or None."""
    lv = require_libvirt()
    try:
        dom = conn.lookupByName(domain_xml.domain_name(instance_uuid))
    except lv.libvirtError as exc:
        if exc.get_error_code() == lv.VIR_ERR_NO_DOMAIN:
            return None
        raise
    return dom if is_ours(dom) else None


def is_ours(dom):
    lv = require_libvirt()
    if not dom.name().startswith(domain_xml.NAME_PREFIX):
        return False
    try:
        mark = dom.metadata(lv.VIR_DOMAIN_METADATA_ELEMENT, domain_xml.METADATA_NS)
    except lv.libvirtError:
        return False
    try:
        element = ET.fromstring(mark)
    except ET.ParseError:
        return False
    # libvirt hands the element back without its namespace prefix.
    owner = element.findtext("host") or element.findtext(f"{{{domain_xml.METADATA_NS}}}host")
    return owner == CONF.host


def instance_uuids(conn):
    """uuids of the instances whose domains this driver created."""
    return [dom.name()[len(domain_xml.NAME_PREFIX):] for dom in conn.listAllDomains()
            if is_ours(dom)]


@contextlib.contextmanager
def tolerate(*error_names):
    """Ignore a libvirtError whose code is one of ``error_names`` (e.g.
    "VIR_ERR_NO_DOMAIN"): the domain is already in the wanted state."""
    lv = require_libvirt()
    codes = {getattr(lv, name) for name in error_names}
    try:
        yield
    except lv.libvirtError as exc:
        if exc.get_error_code() not in codes:
            raise
