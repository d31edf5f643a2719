"""What the compute manager calls: plug, refresh, unplug (and restore), and
update_members for the members of remote security groups.

Every call records what changed in the state files (state.py) and then
reconciles the whole host with all of them (``_apply``), so the order of
calls, a failed apply or a restarted service never leaves entries behind:

    1. kernel switches: IP forwarding; br_netfilter (sysctl.py)
    2. each network's bridge, up, with its gateway addresses (bridge.py);
       with [network] overlay = vxlan with the gateway MAC every host shares;
       each floating network's bridge with its gateway (or, with
       external_interface, the uplink, routes and rules: uplink.py) and the
       floating addresses as /32s (addresses no longer used are removed)
    3. both nftables tables, replaced in one transaction (nftables.py)
    4. overlay = vxlan: each network's VXLAN port (overlay.py), after the
       bridge table that keeps the gateway and DHCP off it; the VXLAN ports
       of networks no guest here uses any more removed (the host leaves
       their multicast groups)
    5. each network's dnsmasq started, reloaded or restarted; dnsmasq of
       networks nothing here uses any more stopped (dhcp.py)

With nothing plugged, the tables are deleted and no dnsmasq runs; bridges
stay. One lock serialises all of it (the manager runs handlers in threads).

Members of remote groups (groups.py: one record per group) are the exception
to "reconcile the whole host": a change of members only adds and deletes
elements of the group's sets (one small nft transaction), since a set may
hold many thousands of addresses; only if that fails is the whole host
re-applied. Records of groups no plugged guest's rules name are dropped.
"""
import logging
import threading
import time

from nova_lite.network.host import (bridge, dhcp, firewall, groups, model, nat, nftables,
                                    overlay, state, sysctl, uplink)

LOG = logging.getLogger(__name__)
_LOCK = threading.RLock()
# Refreshes for instances not plugged (yet): {uuid: (monotonic time, network_info)}.
_PENDING = {}
PENDING_SECONDS = 3600
PENDING_MAX = 10000


def plug(instance_uuid, network_info):
    """Wire the instance's vifs: its bridges, DHCP entries, security groups and
    floating IPs. Idempotent. Raises if the host could not be configured (the
    instance's state is kept, so unplug removes whatever was applied).

    A refresh that arrived for the instance before it was plugged (its build
    was still downloading the image) is newer than the build's network_info
    and is used instead."""
    model.parse(network_info)                         # refuse bad input before saving
    with _LOCK:
        pending = _PENDING.pop(instance_uuid, None)
        if pending is not None:
            LOG.info("plugging %s with the refresh that came before its build",
                     instance_uuid)
            network_info = pending[1]
        if not network_info and state.load_instance(instance_uuid) is None:
            return
        state.save_instance(instance_uuid, network_info or [])
        _apply()


def refresh(instances):
    """Re-apply with new network_info for ``instances`` ({uuid: network_info}),
    e.g. after a security group rule, group membership or floating IP changed.
    Instances not plugged here are only remembered for a while, for a build
    still on its way to plug: a late message never brings back a deleted
    instance's entries."""
    with _LOCK:
        _expire_pending()
        changed = False
        for instance_uuid, network_info in instances.items():
            try:
                model.parse(network_info)
            except model.InvalidNetworkInfo as exc:
                LOG.error("refresh of %s ignored: %s", instance_uuid, exc)
                continue
            if state.load_instance(instance_uuid) is None:
                LOG.debug("refresh: %s is not plugged here (yet)", instance_uuid)
                _PENDING[instance_uuid] = (time.monotonic(), network_info or [])
                continue
            state.save_instance(instance_uuid, network_info or [])
            changed = True
        if changed:
            _apply()


def unplug(instance_uuid):
    """Remove the instance's entries, and what nothing else uses any more
    (dnsmasq of its networks, floating addresses; bridges stay)."""
    with _LOCK:
        _PENDING.pop(instance_uuid, None)
        if state.delete_instance(instance_uuid):
            _apply()


def restore():
    """Re-apply everything recorded (a restarted service, a rebooted host)."""
    with _LOCK:
        if state.load_instances() or state.load_host():
            _apply()


def plugged():
    """{instance uuid: network_info} of what is plugged here."""
    with _LOCK:
        return state.load_instances()


def remote_groups():
    """Ids of the groups the rules of what is plugged here name as remote."""
    with _LOCK:
        return firewall.remote_groups(_recorded_vifs())


def missing_groups():
    """Remote groups named here whose members this host has no record of:
    it must ask for them (the conductor's next membership pass sends them)."""
    with _LOCK:
        return firewall.remote_groups(_recorded_vifs()) - groups.recorded()


def update_members(pass_number, updates, snapshots):
    """Apply one membership pass (nova_lite.network.membership): ``updates``
    {group: {"add": [...], "remove": [...]}}, ``snapshots`` {group: [every
    member]}. Returns the groups no plugged guest's rules name (the sender
    stops telling this host about them)."""
    with _LOCK:
        named = firewall.remote_groups(_recorded_vifs())
        unwanted, changes = set(), []
        for group_id in sorted(set(updates) | set(snapshots)):
            if group_id not in named:
                unwanted.add(group_id)
                continue
            record = groups.load(group_id) or groups.new_record()
            added, removed = [], []
            if group_id in updates:
                entry = updates[group_id] or {}
                a, r = groups.update(record, pass_number, entry.get("add") or (),
                                     entry.get("remove") or ())
                added, removed = added + a, removed + r
            if group_id in snapshots:
                a, r = groups.replace(record, pass_number, snapshots[group_id] or ())
                added, removed = added + a, removed + r
            groups.save(group_id, record)
            changes += _set_changes(group_id, added, removed)
        if changes:
            _apply_set_changes(changes)
        return sorted(unwanted)


def _set_changes(group_id, added, removed):
    result = []
    for version in (4, 6):
        name = groups.set_name(group_id, version)
        result.append((name, "delete", [a for a in removed if groups.version(a) == version]))
        result.append((name, "add", [a for a in added if groups.version(a) == version]))
    return [change for change in result if change[2]]


def _apply_set_changes(changes):
    """Elements in and out of the sets; if that fails (a set or table the
    kernel lacks, an element already gone), the whole host again."""
    if not nftables.exists():
        return                    # nothing filtered here yet: the next apply has it all
    try:
        nftables.apply(nftables.set_changes(changes))
    except Exception as exc:  # noqa: BLE001 - converge by re-applying everything
        LOG.warning("updating security group sets failed (%s); re-applying the host", exc)
        _apply()


def _recorded_vifs():
    vifs = []
    for instance_uuid, network_info in state.load_instances().items():
        try:
            vifs.extend(model.parse(network_info))
        except model.InvalidNetworkInfo as exc:
            LOG.error("ignoring the recorded network_info of %s: %s", instance_uuid, exc)
    return vifs


def _expire_pending():
    now = time.monotonic()
    for instance_uuid, (since, _info) in list(_PENDING.items()):
        if now - since > PENDING_SECONDS:
            del _PENDING[instance_uuid]
    while len(_PENDING) >= PENDING_MAX:
        del _PENDING[next(iter(_PENDING))]


# -- reconciling ------------------------------------------------------------------
def _apply():
    vifs = _recorded_vifs()
    networks = _networks(vifs)
    if vifs:
        sysctl.ensure_br_netfilter()
        sysctl.ensure_forwarding(ipv6=any(s.version == 6 for n in networks.values()
                                          for s in n["subnets"]))
    segments = _apply_bridges(networks)
    _apply_floating(vifs, {n["bridge"] for n in networks.values()})
    named = firewall.remote_groups(vifs)
    for group_id in groups.recorded() - named:
        groups.forget(group_id)
    if vifs:
        nftables.apply(nftables.ruleset(vifs, {n["bridge"] for n in networks.values()},
                                        warn=LOG.warning,
                                        members={g: groups.addresses(g) for g in named},
                                        segments=segments))
    else:
        nftables.remove()
    # The VXLAN ports only now, behind the bridge table's drops: a bridge's
    # first frames (IPv6 DAD, MLD) would otherwise leave with the gateway MAC.
    for segment in segments:
        _record_vxlan(segment["device"])
        overlay.ensure_vxlan(segment["vni"], segment["bridge"], segment["mtu"])
    _remove_stale_vxlan({s["device"] for s in segments})
    _apply_dhcp(networks)


def _apply_bridges(networks):
    """Each network's bridge with its gateways. With [network] overlay = vxlan
    also its VXLAN port, the gateway MAC shared by every host and the MTU
    that fits the underlay; with external_interface an external network's
    bridge is the provider uplink (no gateway here). Returns the segments
    for the nft bridge table (overlay.bridge_lines)."""
    segments = []
    vxlan = overlay.enabled()
    for network_id, network in networks.items():
        gateways = [s.gateway_interface for s in network["subnets"]
                    if s.gateway_interface is not None]
        if network["external"] and uplink.enabled():
            bridge.ensure(network["bridge"], network["mtu"])
            bridge.remove_addresses(network["bridge"], [str(g) for g in gateways])
            uplink.ensure_port(network["bridge"])
            continue
        vni = network["segmentation_id"]
        if not vxlan or vni is None:
            if vxlan:
                LOG.warning("network %s has no segmentation_id: local to this host",
                            network_id)
            bridge.ensure(network["bridge"], network["mtu"], [str(g) for g in gateways])
            continue
        mac = overlay.gateway_mac(network_id)
        bridge.ensure(network["bridge"], network["mtu"], [str(g) for g in gateways], mac=mac)
        segments.append({"device": overlay.device_name(vni), "mac": mac, "vni": vni,
                         "bridge": network["bridge"], "mtu": network["mtu"],
                         "gateways": [g.ip for g in gateways]})
    return segments


def _record_vxlan(name):
    """host.json lists every VXLAN device made before it is made, so a stale
    one is always removed (and other services' devices never are)."""
    host = state.load_host()
    if name not in host.get("vxlan", []):
        host["vxlan"] = sorted(set(host.get("vxlan", [])) | {name})
        state.save_host(host)


def _remove_stale_vxlan(wanted):
    """The VXLAN devices of networks no guest here uses any more: the host
    leaves their multicast groups."""
    host = state.load_host()
    recorded = set(host.get("vxlan", []))
    for name in sorted(recorded - wanted):
        overlay.remove_vxlan(name)
    if recorded != wanted & recorded:
        host["vxlan"] = sorted(wanted & recorded)
        state.save_host(host)


def _apply_floating(vifs, network_bridges):
    """External bridges with their gateways, and the floating addresses on
    them as /32s; the ones no longer used are removed. host.json lists every
    address we may have added before any is, so none is ever forgotten.

    With [network] external_interface the (first) external bridge is the
    provider uplink instead: the interface is its port, the gateway is the
    upstream router's (not put here), routes and rules send the replies of
    guests with a floating IP out through it, and a floating address new
    here is announced with a gratuitous ARP (uplink.py)."""
    wanted = {name: sorted(addresses)
              for name, addresses in nat.external_addresses(vifs).items()}
    host = state.load_host()
    recorded = host.get("floating") or {}
    host["floating"] = {name: sorted(set(recorded.get(name, ())) | set(wanted.get(name, ())))
                        for name in set(recorded) | set(wanted)}
    state.save_host(host)
    uplink_bridge = None
    if uplink.enabled() and wanted:
        uplink_bridge = sorted(wanted)[0]
        if len(wanted) > 1:
            LOG.error("[network] external_interface is the uplink of %s only; the "
                      "floating IPs of %s stay local to this host", uplink_bridge,
                      ", ".join(sorted(wanted)[1:]))
    subnets = nat.external_subnets(vifs)
    for name, gateways in nat.external_gateways(vifs).items():
        if name == uplink_bridge:
            bridge.ensure(name, None)
            bridge.remove_addresses(name, sorted(gateways))       # the upstream router's
            uplink.ensure_port(name)
            new = set(wanted[name]) - bridge.addresses(name)
            bridge.add_addresses(name, wanted[name])
            uplink.ensure_routes(name, {c for c, _g in subnets[name]},
                                 next((g for _c, g in sorted(subnets[name], key=str)
                                       if g is not None), None))
            uplink.announce(name, new)
            continue
        if name not in network_bridges:
            bridge.ensure(name, None, sorted(gateways))
        bridge.add_addresses(name, wanted[name])
    if uplink.enabled():
        uplink.ensure_rules(nat.fixed_addresses(vifs, uplink_bridge) if uplink_bridge
                            else ())
        if uplink_bridge is None:
            uplink.remove_routes(None)
    for name, addresses in recorded.items():
        stale = set(addresses) - set(wanted.get(name, ()))
        if stale:
            bridge.remove_addresses(name, stale)
    host = state.load_host()
    host.pop("floating", None)
    if wanted:
        host["floating"] = wanted
    state.save_host(host)


def _apply_dhcp(networks):
    """A dnsmasq for each network with DHCP or RAs to serve; none for others
    (nor for an external network on the provider uplink: not ours to serve)."""
    served = set()
    for network_id, network in networks.items():
        if network["external"] and uplink.enabled():
            continue
        if dhcp.dhcp_subnets(network["subnets"]):
            dhcp.ensure(network_id, network["bridge"], network["subnets"], network["vifs"],
                        network["mtu"])
            served.add(network_id)
    for network_id in state.network_ids():
        if network_id not in served:
            dhcp.stop(network_id)


def _networks(vifs):
    """{network id: {"bridge", "mtu", "subnets", "vifs", "segmentation_id",
    "external"}}; for a network seen on several vifs, the last one's win
    (newest file). With overlay = vxlan the MTU is what fits the underlay:
    min(network MTU, underlay MTU - 50), for the bridge, the VXLAN port and
    DHCP's mtu option alike."""
    networks = {}
    for vif in vifs:
        network = networks.setdefault(vif.network_id, {"vifs": []})
        network.update(bridge=vif.bridge, mtu=vif.mtu, subnets=list(vif.subnets),
                       segmentation_id=vif.segmentation_id, external=vif.external)
        network["vifs"].append(vif)
    if overlay.enabled() and networks:
        underlay = overlay.underlay_mtu()
        for network in networks.values():
            if network["segmentation_id"] is not None and not (
                    network["external"] and uplink.enabled()):
                network["mtu"] = overlay.guest_mtu(network["mtu"], underlay)
    return networks
