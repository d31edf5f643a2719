#!/usr/bin/env bash
# Run nova-lite's whole test suite on a Debian 12 machine, from nothing:
#
#     sudo tools/run-tests.sh            (or as root: tools/run-tests.sh)
#     sudo tools/run-tests.sh -k boot    (extra arguments go to pytest)
#
# Installs what the tests need (PostgreSQL, RabbitMQ, QEMU tools, a Python
# virtualenv in .venv with nova-lite and its test dependencies), then runs
# pytest. The tests start their own PostgreSQL and RabbitMQ on free loopback
# ports in temporary directories; nothing already running is touched.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# PostgreSQL and RabbitMQ (the tests start their own), libvirt and QEMU (real
# guests under TCG), what the libvirt binding builds with, what
# devstack/tools/build-image.sh makes the tiny guest image from, and the
# network data plane (bridges, nftables, dnsmasq; ping and arping in its
# tests), and what the multi-node tests' machines run (sshd, HAProxy,
# supervisord; python3-apt for Ansible's apt module on them).
PACKAGES="postgresql rabbitmq-server python3-venv python3-dev build-essential pkg-config
 libvirt-daemon-system libvirt-dev qemu-system-x86 qemu-utils genisoimage xorriso
 linux-image-amd64 busybox-static syslinux syslinux-common mtools dosfstools fdisk
 cpio kmod iproute2 nftables dnsmasq-base iputils-ping iputils-arping
 openssh-server haproxy keepalived supervisor socat python3-apt"

missing=""
for pkg in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done
if [ -n "$missing" ]; then
    echo "==> Installing system packages:$missing"
    # The tests start the daemons they need themselves: no package starts one
    # here (a policy-rc.d of our own only if the machine has none).
    POLICY=/usr/sbin/policy-rc.d
    OWN_POLICY=""
    if [ ! -e "$POLICY" ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
        $SUDO chmod 0755 "$POLICY"
        OWN_POLICY=yes
        trap '$SUDO rm -f "$POLICY"' EXIT
    fi
    $SUDO apt-get update -q
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
    if [ -n "$OWN_POLICY" ]; then $SUDO rm -f "$POLICY"; trap - EXIT; fi
fi

PYTHON=${PYTHON:-/usr/bin/python3}
VENV=${VENV:-$ROOT/.venv}
STAMP="$VENV/.installed-$(sha1sum setup.cfg | cut -c1-12)"
if [ ! -f "$STAMP" ]; then
    echo "==> Creating the virtualenv $VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q -e ".[test]"
    touch "$STAMP"
fi

# The whole suite, or the paths given among the arguments (tests/unit,
# tests/unit/test_states.py::test_x): a path replaces "tests", options add to it.
TARGETS="tests"
for arg in "$@"; do
    if [ -e "${arg%%::*}" ]; then TARGETS=""; fi
done

echo "==> Running the tests"
set +e
"$VENV/bin/python" -m pytest -p no:cacheprovider -ra --durations=15 $TARGETS "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
    echo "pytest collected no tests" >&2
fi
exit "$rc"
