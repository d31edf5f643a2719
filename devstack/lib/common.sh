# shellcheck shell=bash
# shellcheck disable=SC2034  # the settings are used by the other files
# Shared settings and helpers for stack.sh / unstack.sh.  Sourced, not run.

# ---- Settings (each can be overridden from the environment) ----------------
NOVA_LITE_ETC=${NOVA_LITE_ETC:-/etc/nova-lite}
NOVA_LITE_CONF=${NOVA_LITE_CONF:-$NOVA_LITE_ETC/nova-lite.conf}
NOVA_LITE_STACK_ENV=${NOVA_LITE_STACK_ENV:-$NOVA_LITE_ETC/stack.env}
NOVA_LITE_VENV=${NOVA_LITE_VENV:-/opt/nova-lite/venv}
NOVA_LITE_STATE=${NOVA_LITE_STATE:-/var/lib/nova-lite}
NOVA_LITE_LOG_DIR=${NOVA_LITE_LOG_DIR:-/var/log/nova-lite}
NOVA_LITE_RUN_DIR=${NOVA_LITE_RUN_DIR:-/run/nova-lite}
NOVA_LITE_STACK_STATE=${NOVA_LITE_STACK_STATE:-$NOVA_LITE_STATE/stack-state}
NOVA_LITE_BIN_DIR=${NOVA_LITE_BIN_DIR:-/usr/local/bin}
API_PORT=${API_PORT:-8774}
# Seconds to wait for the API and the compute service after (re)starting them.
SERVICE_TIMEOUT=${SERVICE_TIMEOUT:-60}
# Seconds a service gets to exit after SIGTERM before it is sent SIGKILL
# (the API's gunicorn lets requests finish for up to 30 s).
STOP_TIMEOUT=${STOP_TIMEOUT:-40}
# Seconds to wait for RabbitMQ to boot.
RABBIT_TIMEOUT=${RABBIT_TIMEOUT:-120}

DB_NAME=nova_lite
DB_USER=nova_lite
RABBIT_USER=nova_lite
RABBIT_VHOST=nova_lite
# Where RabbitMQ listens: AMQP, the Erlang distribution (inter-node and CLI
# tools) and epmd, all on this address only (a single node needs no other;
# doc/install.md, "What listens where").
RABBIT_ADDRESS=${RABBIT_ADDRESS:-127.0.0.1}
RABBIT_PORT=${RABBIT_PORT:-5672}
RABBIT_DIST_PORT=${RABBIT_DIST_PORT:-25672}
RABBIT_EPMD_PORT=${RABBIT_EPMD_PORT:-4369}
RABBIT_NODENAME=${RABBIT_NODENAME:-rabbit@localhost}
RABBITMQ_ETC=${RABBITMQ_ETC:-/etc/rabbitmq}
SYSTEMD_ETC=${SYSTEMD_ETC:-/etc/systemd/system}

# The nova-lite services, in start order (unit nova-lite-<svc>, binary
# nova-lite-<svc>, log <svc>.log, pid file <svc>.pid).
NOVA_LITE_SERVICES=(conductor scheduler compute api)

# ---- Output -----------------------------------------------------------------
CURRENT_STEP="starting"

step() {
    CURRENT_STEP="$*"
    printf '\n==> %s\n' "$*"
}

info() { printf '    %s\n' "$*"; }
warn() { printf '    WARNING: %s\n' "$*" >&2; }

die() {
    printf '\nERROR in step "%s": %s\n' "$CURRENT_STEP" "$*" >&2
    exit 1
}

# trap ERR handler: name the step that failed.
on_error() {
    local rc=$1 line=$2 cmd=$3
    trap - ERR
    printf '\nERROR: %s failed in step "%s"\n' "$(basename "$0")" "$CURRENT_STEP" >&2
    printf '       command: %s\n       at line %s, exit status %s\n' "$cmd" "$line" "$rc" >&2
    exit "$rc"
}

install_error_trap() {
    set -eEuo pipefail
    trap 'on_error $? $LINENO "$BASH_COMMAND"' ERR
}

require_root() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "$(basename "$0") must run as root (sudo $0)" >&2
        exit 1
    fi
}

# ---- Environment detection -----------------------------------------------------
have_systemd() { [ -d /run/systemd/system ]; }

# ---- Files ---------------------------------------------------------------------
# write_file MODE PATH [OWNER[:GROUP]] < content
# Replace PATH only when the content, mode or owner differ; prints what happened.
# Returns 0 in all cases; sets FILE_CHANGED=1 when PATH was written.
write_file() {
    local mode=$1 path=$2 owner=${3:-root:root} tmp
    tmp=$(mktemp "${path}.XXXXXX")
    cat >"$tmp"
    chmod "$mode" "$tmp"
    chown "$owner" "$tmp"
    FILE_CHANGED=0
    if [ -f "$path" ] && cmp -s "$tmp" "$path" \
        && [ "$(stat -c '%a %U:%G' "$path")" = "$(stat -c '%a %U:%G' "$tmp")" ]; then
        rm -f "$tmp"
        info "$path unchanged"
    else
        mv -f "$tmp" "$path"
        FILE_CHANGED=1
        info "wrote $path"
    fi
}

# Quote a value for a file that a shell will source.
shell_quote() { printf '%q' "$1"; }

# ---- Stack state (what stack.sh started itself, for unstack.sh --all) ----------
state_get() {
    local key=$1
    [ -f "$NOVA_LITE_STACK_STATE" ] || return 0
    sed -n "s/^${key}=//p" "$NOVA_LITE_STACK_STATE" | tail -n 1
}

state_set() {
    local key=$1 value=$2
    mkdir -p "$(dirname "$NOVA_LITE_STACK_STATE")"
    touch "$NOVA_LITE_STACK_STATE"
    sed -i "/^${key}=/d" "$NOVA_LITE_STACK_STATE"
    printf '%s=%s\n' "$key" "$value" >>"$NOVA_LITE_STACK_STATE"
}

state_unset() {
    local key=$1
    [ -f "$NOVA_LITE_STACK_STATE" ] || return 0
    sed -i "/^${key}=/d" "$NOVA_LITE_STACK_STATE"
}

# ---- Processes started without systemd -------------------------------------------
pid_file() { echo "$NOVA_LITE_RUN_DIR/$1.pid"; }
log_file() { echo "$NOVA_LITE_LOG_DIR/$1.log"; }

# pid_is_service PID SVC: PID is alive and is still nova-lite-SVC (not a
# recycled PID of some other program).
pid_is_service() {
    local pid=$1 svc=$2 cmdline
    case "$pid" in '' | *[!0-9]*) return 1 ;; esac
    [ -r "/proc/$pid/cmdline" ] || return 1
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    case "$cmdline" in
        *"nova-lite-$svc "* | *"nova-lite-$svc") return 0 ;;
        *"[nova-lite-$svc]"*) return 0 ;;  # gunicorn's proc_name with setproctitle
    esac
    return 1
}

# The PID recorded for SVC if that process is still nova-lite-SVC, else nothing.
running_pid() {
    local svc=$1 file pid
    file=$(pid_file "$svc")
    [ -f "$file" ] || return 0
    pid=$(head -n 1 "$file" 2>/dev/null || true)
    if pid_is_service "$pid" "$svc"; then
        echo "$pid"
    fi
}

# stop_pid_service SVC: TERM the recorded process, KILL it (and its process
# group, which setsid made its own) after STOP_TIMEOUT; remove the PID file.
stop_pid_service() {
    local svc=$1 file pid waited=0
    file=$(pid_file "$svc")
    pid=$(running_pid "$svc")
    if [ -z "$pid" ]; then
        [ -f "$file" ] && info "nova-lite-$svc: not running (removing stale $file)"
        rm -f "$file"
        return 0
    fi
    info "stopping nova-lite-$svc (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    while pid_is_service "$pid" "$svc"; do
        if [ "$waited" -ge "$STOP_TIMEOUT" ]; then
            warn "nova-lite-$svc (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT}s; sending SIGKILL"
            # setsid made the service the leader of its own process group, so
            # the group holds only it and its children (gunicorn workers).
            if [ "$(awk '{print $5}' "/proc/$pid/stat" 2>/dev/null)" = "$pid" ]; then
                kill -KILL -- "-$pid" 2>/dev/null || true
            else
                kill -KILL "$pid" 2>/dev/null || true
            fi
            sleep 1
            break
        fi
        sleep 1
        waited=$((waited + 1))
    done
    rm -f "$file"
}
