#!/usr/bin/env bash
# devstack/tools/check-supervision.sh: kill -9 each nova-lite service's main
# process and measure how long it takes to be back (systemd or supervisord).
#
#   sudo devstack/tools/check-supervision.sh [SERVICE...]   (default: all four)
#
# For each service: SIGKILL to its main PID (gunicorn's master for the API),
# then poll every 0.1 s for a new main PID and for it to be running
# (supervisord RUNNING, i.e. up for startsecs; systemd active). For the API,
# also until http://127.0.0.1:$API_PORT/identity/v3 answers again.
# Fails (exit 1) if a service is not back within CHECK_TIMEOUT (10) seconds.
# Disruptive: in-flight requests and RPCs of the killed services are lost.

DEVSTACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
. "$DEVSTACK_DIR/lib/common.sh"
# shellcheck source=lib/supervisor.sh
. "$DEVSTACK_DIR/lib/supervisor.sh"

install_error_trap
require_root
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CHECK_TIMEOUT=${CHECK_TIMEOUT:-10}

case "${1:-}" in -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
services=("$@")
[ "${#services[@]}" -gt 0 ] || services=(api conductor scheduler compute)

if have_systemd; then
    mode=systemd
elif [ -n "$(supervisord_pid)" ] && supervisord_answers; then
    mode=supervisord
else
    echo "neither systemd nor nova-lite's supervisord ($SUPERVISORD_CONF) runs the services" >&2
    exit 1
fi

# main_pid SVC: the main PID (0 if none); state SVC: running or not.
main_pid() {
    if [ "$mode" = systemd ]; then
        systemctl show -p MainPID --value "nova-lite-$1"
    else
        svctl pid "nova-lite-$1" 2>/dev/null || echo 0
    fi
}
is_running() {
    if [ "$mode" = systemd ]; then
        systemctl is-active --quiet "nova-lite-$1"
    else
        svctl status "nova-lite-$1" 2>/dev/null | grep -q ' RUNNING '
    fi
}
api_answers() {
    curl -sf --noproxy '*' -o /dev/null --max-time 1 "http://127.0.0.1:$API_PORT/identity/v3"
}
# Seconds since $t0 (EPOCHREALTIME), one decimal.
since() { awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

echo "supervision: $mode; each service killed with SIGKILL, back within ${CHECK_TIMEOUT}s?"
rows=() failed=0
for svc in "${services[@]}"; do
    # Start from a settled service.
    waited=0
    until is_running "$svc" && [ "$(main_pid "$svc")" != 0 ] \
            && { [ "$svc" != api ] || api_answers; }; do
        [ "$waited" -lt 300 ] || { echo "nova-lite-$svc is not running; not killing it" >&2; exit 1; }
        sleep 0.1; waited=$((waited + 1))
    done
    old=$(main_pid "$svc")
    t0=$EPOCHREALTIME
    kill -KILL "$old"
    new=0 t_new=- t_run=- t_api=-
    while :; do
        if [ "$t_new" = - ]; then
            pid=$(main_pid "$svc")
            if [ "$pid" != 0 ] && [ "$pid" != "$old" ] && [ -n "$pid" ]; then
                new=$pid t_new=$(since)
            fi
        fi
        if [ "$t_new" != - ] && [ "$t_run" = - ] && is_running "$svc"; then
            t_run=$(since)
        fi
        if [ "$svc" = api ] && [ "$t_new" != - ] && [ "$t_api" = - ] && api_answers; then
            t_api=$(since)
        fi
        if [ "$t_run" != - ] && { [ "$svc" != api ] || [ "$t_api" != - ]; }; then
            result=ok
            break
        fi
        if awk -v a="$t0" -v b="$EPOCHREALTIME" -v m="$CHECK_TIMEOUT" 'BEGIN { exit !(b - a > m) }'; then
            result=FAILED
            failed=1
            break
        fi
        sleep 0.1
    done
    rows+=("$(printf '%-20s %8s %8s %13s %11s %13s  %s' "nova-lite-$svc" "$old" "$new" \
        "$t_new" "$t_run" "$t_api" "$result")")
done

printf '\n%-20s %8s %8s %13s %11s %13s  %s\n' service "old pid" "new pid" "new process" running "API answers" result
for row in "${rows[@]}"; do
    echo "$row"
done
echo "(seconds after the SIGKILL; 'running': supervisord RUNNING, i.e. up for startsecs, or systemd active)"
exit "$failed"
