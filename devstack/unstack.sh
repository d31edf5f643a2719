#!/usr/bin/env bash
# devstack/unstack.sh: stop what devstack/stack.sh started.
#
#   sudo devstack/unstack.sh          stop the nova-lite services
#   sudo devstack/unstack.sh --all    also stop RabbitMQ and PostgreSQL, if
#                                     stack.sh started them without systemd
#
# Nothing is deleted: configuration, passwords, database and images stay, and
# devstack/stack.sh starts everything again.

DEVSTACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
. "$DEVSTACK_DIR/lib/common.sh"
# shellcheck source=lib/supervisor.sh
. "$DEVSTACK_DIR/lib/supervisor.sh"
# shellcheck source=lib/libvirt.sh
. "$DEVSTACK_DIR/lib/libvirt.sh"

install_error_trap
require_root
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

ALL=no
for arg in "$@"; do
    case "$arg" in
        --all) ALL=yes ;;
        -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done

step "Stopping the nova-lite services"
# Without systemd: nova-lite's supervisord (the programs, the API first,
# then supervisord itself).
if [ -n "$(supervisord_pid)" ]; then
    stop_supervisord
elif ! have_systemd; then
    info "supervisord ($SUPERVISORD_CONF) is not running"
fi
# The API first, so it takes no new requests, then the workers.
for svc in api compute scheduler conductor; do
    if have_systemd && [ -f "/etc/systemd/system/nova-lite-$svc.service" ]; then
        if systemctl is-active --quiet "nova-lite-$svc"; then
            systemctl stop "nova-lite-$svc"
            info "stopped nova-lite-$svc.service"
        else
            info "nova-lite-$svc.service is not running"
        fi
    fi
    # Processes started detached with PID files by an older stack.sh.
    if [ -f "$(pid_file "$svc")" ]; then
        stop_pid_service "$svc"
    fi
done

if [ "$ALL" = yes ]; then
    step "Stopping libvirt"
    stop_libvirt

    step "Stopping RabbitMQ"
    if [ "$(state_get started_rabbitmq)" = 1 ]; then
        if rabbitmqctl -q await_startup --timeout 5 >/dev/null 2>&1; then
            rabbitmqctl -q stop
            info "stopped RabbitMQ"
        else
            info "RabbitMQ is not running"
        fi
        state_unset started_rabbitmq
    else
        info "left alone: stack.sh did not start it (it runs under systemd or was already running)"
    fi

    step "Stopping PostgreSQL"
    pg=$(state_get started_postgres)
    if [ -n "$pg" ]; then
        read -r pg_version pg_cluster <<<"$pg"
        if [ "$(pg_lsclusters --no-header "$pg_version" "$pg_cluster" 2>/dev/null | awk '{print $4}')" = online ]; then
            pg_ctlcluster "$pg_version" "$pg_cluster" stop
            info "stopped PostgreSQL $pg_version/$pg_cluster"
        else
            info "PostgreSQL $pg_version/$pg_cluster is not running"
        fi
        state_unset started_postgres
    else
        info "left alone: stack.sh did not start it (it runs under systemd or was already running)"
    fi
fi

step "Stopped"
echo "    Start again with: $DEVSTACK_DIR/stack.sh"
