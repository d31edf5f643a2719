# shellcheck shell=bash
# System packages from Debian's apt repositories.

# psycopg2-binary ships its own libpq, so libpq-dev is not needed; set
# NEED_LIBPQ_DEV=1 to install it anyway (e.g. to build psycopg2 from source).
STACK_PACKAGES=(postgresql rabbitmq-server python3-venv python3-dev build-essential
                qemu-utils curl iproute2 nftables dnsmasq-base iputils-ping)

package_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null | cut -c1-2)" = "ii" ]
}

install_packages() {
    local pkg missing=()
    local packages=("${STACK_PACKAGES[@]}")
    if [ "${VIRT_DRIVER:-auto}" != fake ]; then
        packages+=("${LIBVIRT_PACKAGES[@]}")
    fi
    if [ "${NEED_LIBPQ_DEV:-0}" = 1 ]; then
        packages+=(libpq-dev)
    fi
    # Without systemd the services run under supervisord (lib/supervisor.sh).
    if ! have_systemd; then
        packages+=(supervisor)
    fi
    for pkg in "${packages[@]}"; do
        package_installed "$pkg" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        info "all installed: ${packages[*]}"
        return 0
    fi
    info "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # Without systemd, Debian's maintainer scripts may try to start the
    # services; let them, and start them ourselves later if they did not.
    # Except supervisor's: its init script would start a second supervisord
    # with Debian's /etc/supervisor/supervisord.conf, which nova-lite does not
    # use. A policy-rc.d that denies "supervisor" (and allows everything
    # else, as no policy-rc.d does) is put in place for the install, and
    # only if the host has none of its own.
    local policy=/usr/sbin/policy-rc.d our_policy=no
    if ! have_systemd && [ ! -e "$policy" ]; then
        # shellcheck disable=SC2016  # $1 is policy-rc.d's, not ours
        printf '%s\n' '#!/bin/sh' '# Temporary, written by nova-lite devstack/lib/packages.sh' \
            'case "$1" in supervisor) exit 101 ;; esac' 'exit 0' >"$policy"
        chmod 0755 "$policy"
        our_policy=yes
    fi
    local rc=0
    apt-get install -y -q \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" || rc=$?
    if [ "$our_policy" = yes ]; then
        rm -f "$policy"
    fi
    [ "$rc" -eq 0 ] || die "apt-get install ${missing[*]} failed (exit status $rc)"
}
