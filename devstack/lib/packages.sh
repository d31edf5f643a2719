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
    apt-get install -y -q \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}"
}
