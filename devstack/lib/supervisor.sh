# shellcheck shell=bash
# supervisord: runs the nova-lite services on hosts without systemd and starts
# again, at once, one that dies. nova-lite's own supervisord, never the one of
# Debian's /etc/supervisor/supervisord.conf:
#
#   /etc/nova-lite/supervisord.conf                    main configuration
#   /etc/nova-lite/supervisor.d/nova-lite-<svc>.conf   one program per service
#   /run/nova-lite/supervisor.sock, supervisord.pid    control socket, PID
#   /var/log/nova-lite/supervisord.log                 supervisord's own log
#
# The same paths and program names are used by the Ansible roles.

SUPERVISORD_CONF=${SUPERVISORD_CONF:-$NOVA_LITE_ETC/supervisord.conf}
SUPERVISOR_INCLUDE_DIR=${SUPERVISOR_INCLUDE_DIR:-$NOVA_LITE_ETC/supervisor.d}
SUPERVISOR_SOCK=${SUPERVISOR_SOCK:-$NOVA_LITE_RUN_DIR/supervisor.sock}
SUPERVISORD_PIDFILE=${SUPERVISORD_PIDFILE:-$NOVA_LITE_RUN_DIR/supervisord.pid}
SUPERVISORD_LOG=${SUPERVISORD_LOG:-$NOVA_LITE_LOG_DIR/supervisord.log}
# A service that exits within startsecs of its start is retried after 1 s,
# then 2 s, 3 s, ... (supervisord's own linear backoff) and given up on
# (FATAL) after SUPERVISOR_START_RETRIES such failures in a row: 30 retries
# cover a dependency (PostgreSQL, RabbitMQ) that is down for about 8 minutes,
# with at most 30 s between the last attempts. One that ran longer than
# startsecs and then died (kill -9, OOM, crash) is started again at once.
SUPERVISOR_START_RETRIES=${SUPERVISOR_START_RETRIES:-30}
SUPERVISOR_START_SECS=${SUPERVISOR_START_SECS:-2}

# Start (and shutdown) order: lower priority starts first and stops last.
supervisor_priority() {
    case "$1" in
        conductor) echo 10 ;; scheduler) echo 20 ;; compute) echo 30 ;; api) echo 40 ;;
        *) echo 50 ;;
    esac
}

svctl() { supervisorctl -c "$SUPERVISORD_CONF" "$@"; }

# The PID of nova-lite's supervisord (from its pidfile, checked to be a
# supervisord with our configuration), or nothing.
supervisord_pid() {
    local pid cmdline
    [ -f "$SUPERVISORD_PIDFILE" ] || return 0
    pid=$(head -n 1 "$SUPERVISORD_PIDFILE" 2>/dev/null || true)
    case "$pid" in '' | *[!0-9]*) return 0 ;; esac
    cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 0
    case "$cmdline" in
        *supervisord*"$SUPERVISORD_CONF"*) echo "$pid" ;;
    esac
}

# Our supervisord answers on its socket.
supervisord_answers() {
    [ -S "$SUPERVISOR_SOCK" ] && svctl pid >/dev/null 2>&1
}

write_supervisor_config() {
    local svc
    SUPERVISOR_MAIN_CHANGED=0
    SUPERVISOR_PROGRAMS_CHANGED=0
    install -d -m 0755 "$SUPERVISOR_INCLUDE_DIR"
    write_file 0644 "$SUPERVISORD_CONF" <<END
; Written by devstack/stack.sh: nova-lite's own supervisord (not Debian's
; /etc/supervisor/supervisord.conf). Start: supervisord -c $SUPERVISORD_CONF
; See the services: supervisorctl -c $SUPERVISORD_CONF status

[unix_http_server]
file = $SUPERVISOR_SOCK
chmod = 0700

[supervisord]
pidfile = $SUPERVISORD_PIDFILE
logfile = $SUPERVISORD_LOG
logfile_maxbytes = 10MB
logfile_backups = 3
loglevel = info
childlogdir = $NOVA_LITE_LOG_DIR
identifier = nova-lite
umask = 022

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl = unix://$SUPERVISOR_SOCK

[include]
files = $SUPERVISOR_INCLUDE_DIR/*.conf
END
    SUPERVISOR_MAIN_CHANGED=$FILE_CHANGED
    for svc in "${NOVA_LITE_SERVICES[@]}"; do
        write_file 0644 "$SUPERVISOR_INCLUDE_DIR/nova-lite-$svc.conf" <<END
; Written by devstack/stack.sh
[program:nova-lite-$svc]
command = $NOVA_LITE_VENV/bin/nova-lite-$svc --config-file $NOVA_LITE_CONF
priority = $(supervisor_priority "$svc")
autostart = true
autorestart = true
startsecs = $SUPERVISOR_START_SECS
startretries = $SUPERVISOR_START_RETRIES
stopsignal = TERM
stopwaitsecs = $STOP_TIMEOUT
stopasgroup = true
killasgroup = true
redirect_stderr = true
stdout_logfile = $(log_file "$svc")
; Appended to, never rotated by supervisord (as with systemd).
stdout_logfile_maxbytes = 0
stdout_logfile_backups = 0
END
        SUPERVISOR_PROGRAMS_CHANGED=$((SUPERVISOR_PROGRAMS_CHANGED + FILE_CHANGED))
    done
}

# start_supervisord: start nova-lite's supervisord (it starts the programs,
# autostart) and wait until it answers on its socket.
start_supervisord() {
    local out waited=0
    out=$(mktemp)
    # A clean environment, as systemd gives its services: the services must
    # not depend on who ran stack.sh (OS_* variables, proxies, a venv).
    if ! env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            LANG=C.UTF-8 LC_ALL=C.UTF-8 HOME=/root \
            supervisord -c "$SUPERVISORD_CONF" </dev/null >"$out" 2>&1; then
        sed 's/^/    | /' "$out" >&2
        rm -f "$out"
        die "supervisord -c $SUPERVISORD_CONF failed (see $SUPERVISORD_LOG)"
    fi
    rm -f "$out"
    until supervisord_answers; do
        [ "$waited" -lt 100 ] || die "supervisord does not answer on $SUPERVISOR_SOCK (see $SUPERVISORD_LOG)"
        sleep 0.1
        waited=$((waited + 1))
    done
    info "started supervisord (pid $(supervisord_pid), log $SUPERVISORD_LOG)"
}

# stop_supervisord: stop the programs (the API first), then supervisord
# itself by its PID (checked to be our supervisord).
stop_supervisord() {
    local pid svc waited=0
    pid=$(supervisord_pid)
    if [ -z "$pid" ]; then
        info "supervisord ($SUPERVISORD_CONF) is not running"
        rm -f "$SUPERVISORD_PIDFILE"
        return 0
    fi
    if supervisord_answers; then
        for svc in api compute scheduler conductor; do
            svctl stop "nova-lite-$svc" 2>&1 | sed 's/^/    /' || true
        done
    fi
    kill -TERM "$pid" 2>/dev/null || true
    # supervisord stops what still runs (stopwaitsecs each) before it exits.
    while [ -d "/proc/$pid" ] && [ "$(supervisord_pid)" = "$pid" ]; do
        if [ "$waited" -ge $((STOP_TIMEOUT + 10)) ]; then
            warn "supervisord (pid $pid) did not exit in $((STOP_TIMEOUT + 10))s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 1
        waited=$((waited + 1))
    done
    info "stopped supervisord (pid $pid)"
}

# leftover_pids SVC: nova-lite-SVC main processes (process-group leaders)
# running our configuration that no supervisord or PID file accounts for:
# e.g. the services of a supervisord that was killed with SIGKILL. Only
# processes in our own PID and mount namespaces: /proc also shows those of
# containers (or test machines) on this host, with the same paths.
leftover_pids() {
    local svc=$1 dir pid cmdline my_pidns my_mntns
    my_pidns=$(readlink /proc/self/ns/pid)
    my_mntns=$(readlink /proc/self/ns/mnt)
    for dir in /proc/[0-9]*; do
        pid=${dir#/proc/}
        [ "$(readlink "$dir/ns/pid" 2>/dev/null)" = "$my_pidns" ] || continue
        [ "$(readlink "$dir/ns/mnt" 2>/dev/null)" = "$my_mntns" ] || continue
        cmdline=$(tr '\0' ' ' 2>/dev/null <"$dir/cmdline") || continue
        case "$cmdline" in
            *"$NOVA_LITE_VENV/bin/nova-lite-$svc --config-file $NOVA_LITE_CONF"*) ;;
            *) continue ;;
        esac
        [ "$(awk '{print $5}' "$dir/stat" 2>/dev/null)" = "$pid" ] && echo "$pid"
    done
    return 0
}

stop_leftovers() {
    local svc pid waited
    for svc in api compute scheduler conductor; do
        for pid in $(leftover_pids "$svc"); do
            info "stopping a leftover nova-lite-$svc (pid $pid, no supervisor)"
            kill -TERM -- "-$pid" 2>/dev/null || true
            waited=0
            while [ -d "/proc/$pid" ]; do
                if [ "$waited" -ge "$STOP_TIMEOUT" ]; then
                    kill -KILL -- "-$pid" 2>/dev/null || true
                    sleep 1
                    break
                fi
                sleep 1
                waited=$((waited + 1))
            done
        done
    done
}

# supervisor_start_services: (re)start the four programs under nova-lite's
# supervisord, starting supervisord if it is not running. Sets
# SERVICES_STARTED_AT.
# shellcheck disable=SC2034  # read by stack.sh
supervisor_start_services() {
    local svc out
    write_supervisor_config
    if [ -n "$(supervisord_pid)" ] && [ "$SUPERVISOR_MAIN_CHANGED" = 1 ]; then
        info "$SUPERVISORD_CONF changed: restarting supervisord"
        stop_supervisord
    elif [ -n "$(supervisord_pid)" ] && ! supervisord_answers; then
        warn "supervisord (pid $(supervisord_pid)) does not answer on $SUPERVISOR_SOCK: restarting it"
        stop_supervisord
    fi
    if [ -n "$(supervisord_pid)" ]; then
        info "supervisord is running (pid $(supervisord_pid))"
        svctl reread | sed 's/^/    /'
        # Adds, removes and restarts the programs whose files changed.
        svctl update | sed 's/^/    /'
        # As before supervisord: a re-run restarts every service (new code).
        for svc in api compute scheduler conductor; do
            svctl stop "nova-lite-$svc" 2>&1 | sed 's/^/    /' || true
        done
        SERVICES_STARTED_AT=$(date -u +%Y-%m-%dT%H:%M:%S+00:00)
        for svc in "${NOVA_LITE_SERVICES[@]}"; do
            # Waits up to startsecs: fails when the service exits before.
            if ! out=$(svctl start "nova-lite-$svc" 2>&1); then
                info "$out"
                show_log_tail "$svc"
                die "nova-lite-$svc exited during start-up; see $(log_file "$svc")"
            fi
            info "$out (log $(log_file "$svc"))"
        done
    else
        # Processes no supervisord knows: a supervisord killed with SIGKILL
        # leaves its services running.
        stop_leftovers
        SERVICES_STARTED_AT=$(date -u +%Y-%m-%dT%H:%M:%S+00:00)
        start_supervisord
        for svc in "${NOVA_LITE_SERVICES[@]}"; do
            info "nova-lite-$svc: started by supervisord (log $(log_file "$svc"))"
        done
    fi
}

# supervisor_status: "<svc> <STATE>" for each nova-lite service (STATE as
# supervisorctl prints it: RUNNING, STARTING, BACKOFF, EXITED, FATAL, ...;
# UNKNOWN when supervisord does not answer).
supervisor_status() {
    local svc out
    out=$(svctl status 2>/dev/null || true)
    for svc in "${NOVA_LITE_SERVICES[@]}"; do
        awk -v name="nova-lite-$svc" -v svc="$svc" '
            $1 == name { print svc, $2; found = 1 }
            END { if (!found) print svc, "UNKNOWN" }' <<<"$out"
    done
}
