# shellcheck shell=bash
# libvirt and QEMU, for real guests. VIRT_DRIVER=auto (the default) uses the
# libvirt driver when libvirtd answers on qemu:///system, else the fake one;
# VIRT_DRIVER=libvirt insists (and fails if libvirt does not work);
# VIRT_DRIVER=fake never touches libvirt. The domain type (kvm or qemu/TCG) is
# chosen by nova-lite itself from what really boots ([libvirt] virt_type=auto).

LIBVIRT_PACKAGES=(libvirt-daemon-system libvirt-dev pkg-config qemu-system-x86 qemu-utils
                  genisoimage)
LIBVIRT_URI=qemu:///system

libvirt_answers() {
    timeout 10 virsh -q -c "$LIBVIRT_URI" version >/dev/null 2>&1
}

# ensure_libvirt: sets VIRT_DRIVER to libvirt or fake.
ensure_libvirt() {
    VIRT_DRIVER=${VIRT_DRIVER:-auto}
    if [ "$VIRT_DRIVER" = fake ]; then
        info "VIRT_DRIVER=fake: servers are simulated, libvirt is not used"
        return 0
    fi
    if ! libvirt_answers; then
        if have_systemd; then
            systemctl enable --now virtlogd.socket libvirtd.socket >/dev/null 2>&1 \
                || systemctl enable --now virtlogd libvirtd
        else
            [ -S /run/libvirt/virtlogd-sock ] || virtlogd -d
            libvirtd -d
            state_set started_libvirt 1
        fi
        local waited=0
        until libvirt_answers; do
            if [ "$waited" -ge 30 ]; then
                break
            fi
            sleep 1
            waited=$((waited + 1))
        done
    fi
    if libvirt_answers; then
        info "libvirtd answers on $LIBVIRT_URI: real guests (libvirt driver)"
        VIRT_DRIVER=libvirt
    elif [ "$VIRT_DRIVER" = libvirt ]; then
        die "VIRT_DRIVER=libvirt but libvirtd does not answer on $LIBVIRT_URI"
    else
        warn "libvirtd does not answer on $LIBVIRT_URI; using the fake driver"
        VIRT_DRIVER=fake
    fi
}

# stop_libvirt: only daemons stack.sh started itself, by their PID files.
stop_libvirt() {
    if [ "$(state_get started_libvirt)" != 1 ]; then
        info "left alone: stack.sh did not start libvirt"
        return 0
    fi
    local name pid
    for name in libvirtd virtlogd; do
        pid=$(cat "/run/$name.pid" 2>/dev/null || true)
        if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] \
                && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$name"; then
            kill "$pid"
            info "stopped $name (pid $pid)"
        fi
    done
    state_unset started_libvirt
}
