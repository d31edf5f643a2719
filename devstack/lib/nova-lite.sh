# shellcheck shell=bash
# nova-lite itself: secrets, venv, configuration, database, services, openrc.

# ---- Secrets ---------------------------------------------------------------------
random_password() {
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
}

# saved_secret NAME: the value of NAME in stack.env (empty if unset).
saved_secret() {
    (
        unset "$1"
        # shellcheck disable=SC1090
        . "$NOVA_LITE_STACK_ENV"
        printf '%s' "${!1:-}"
    )
}

# Generated once, kept in stack.env (0600) and reused. ADMIN_PASSWORD and
# DEMO_PASSWORD from the environment win (and are saved).
ensure_secrets() {
    local env_admin=${ADMIN_PASSWORD:-} env_demo=${DEMO_PASSWORD:-}
    local saved_database="" saved_rabbit="" saved_admin="" saved_demo="" saved_service=""
    install -d -m 0755 "$NOVA_LITE_ETC"
    if [ -f "$NOVA_LITE_STACK_ENV" ]; then
        saved_database=$(saved_secret DATABASE_PASSWORD)
        saved_rabbit=$(saved_secret RABBIT_PASSWORD)
        saved_admin=$(saved_secret ADMIN_PASSWORD)
        saved_demo=$(saved_secret DEMO_PASSWORD)
        saved_service=$(saved_secret SERVICE_PASSWORD)
        info "reusing the passwords in $NOVA_LITE_STACK_ENV"
    else
        info "generating passwords into $NOVA_LITE_STACK_ENV"
    fi
    DATABASE_PASSWORD=${saved_database:-$(random_password)}
    RABBIT_PASSWORD=${saved_rabbit:-$(random_password)}
    ADMIN_PASSWORD=${env_admin:-${saved_admin:-$(random_password)}}
    DEMO_PASSWORD=${env_demo:-${saved_demo:-$(random_password)}}
    SERVICE_PASSWORD=${saved_service:-$(random_password)}
    if [ -n "$env_admin" ] && [ -n "$saved_admin" ] && [ "$env_admin" != "$saved_admin" ]; then
        info "ADMIN_PASSWORD from the environment replaces the saved one"
    fi
    if [ -n "$env_demo" ] && [ -n "$saved_demo" ] && [ "$env_demo" != "$saved_demo" ]; then
        info "DEMO_PASSWORD from the environment replaces the saved one"
    fi
    write_file 0600 "$NOVA_LITE_STACK_ENV" <<END
# Written by devstack/stack.sh; reused by every later run. Keep it secret.
DATABASE_PASSWORD=$(shell_quote "$DATABASE_PASSWORD")
RABBIT_PASSWORD=$(shell_quote "$RABBIT_PASSWORD")
ADMIN_PASSWORD=$(shell_quote "$ADMIN_PASSWORD")
DEMO_PASSWORD=$(shell_quote "$DEMO_PASSWORD")
SERVICE_PASSWORD=$(shell_quote "$SERVICE_PASSWORD")
END
}

# ---- Python ----------------------------------------------------------------------
# A hash of what decides the installed package (metadata, entry points).
repo_install_stamp() {
    cat "$REPO_DIR/setup.cfg" "$REPO_DIR/pyproject.toml" 2>/dev/null | sha256sum | cut -d' ' -f1
    echo "$REPO_DIR"
}

ensure_venv() {
    local py=/usr/bin/python3 stamp_file="$NOVA_LITE_VENV/.nova-lite-install-stamp"
    [ -x "$py" ] || die "$py is missing (apt-get install python3)"
    if [ ! -x "$NOVA_LITE_VENV/bin/python" ] || ! "$NOVA_LITE_VENV/bin/python" -c 'import sys' 2>/dev/null; then
        info "creating $NOVA_LITE_VENV with $("$py" --version)"
        install -d -m 0755 "$(dirname "$NOVA_LITE_VENV")"
        "$py" -m venv "$NOVA_LITE_VENV"
        "$NOVA_LITE_VENV/bin/pip" install -q --upgrade pip
    else
        info "$NOVA_LITE_VENV exists ($("$NOVA_LITE_VENV/bin/python" --version))"
    fi
    local pip=("$NOVA_LITE_VENV/bin/pip" --disable-pip-version-check -q)

    if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$(repo_install_stamp)" ] \
        && "$NOVA_LITE_VENV/bin/python" -c 'import nova_lite' 2>/dev/null; then
        info "nova-lite is installed from $REPO_DIR (editable)"
    else
        info "pip install -e $REPO_DIR"
        "${pip[@]}" install -e "$REPO_DIR"
        repo_install_stamp >"$stamp_file"
    fi
    if [ "${VIRT_DRIVER:-fake}" = libvirt ]; then
        if "$NOVA_LITE_VENV/bin/python" -c 'import libvirt' 2>/dev/null; then
            info "the libvirt binding is installed"
        else
            info "pip install libvirt-python (builds against libvirt-dev)"
            "${pip[@]}" install "libvirt-python>=9.0"
        fi
    fi
    if [ -x "$NOVA_LITE_VENV/bin/openstack" ]; then
        info "python-openstackclient is installed"
    else
        info "pip install python-openstackclient"
        "${pip[@]}" install python-openstackclient
    fi

    local cmd link target
    for cmd in nova-lite nova-lite-manage openstack; do
        target="$NOVA_LITE_VENV/bin/$cmd"
        link="$NOVA_LITE_BIN_DIR/$cmd"
        if [ ! -e "$target" ]; then
            warn "$target does not exist (yet); not linking $link"
        elif [ -e "$link" ] && [ ! -L "$link" ]; then
            warn "$link exists and is not a symlink; leaving it alone"
        elif [ "$(readlink "$link" 2>/dev/null)" != "$target" ]; then
            ln -sfn "$target" "$link"
            info "linked $link -> $target"
        fi
    done
}

# ---- Configuration ---------------------------------------------------------------
detect_host_ip() {
    if [ -n "${HOST_IP:-}" ]; then
        echo "$HOST_IP"
        return
    fi
    local ip
    ip=$(hostname -I 2>/dev/null | awk '{print $1}')
    echo "${ip:-127.0.0.1}"
}

ensure_directories() {
    install -d -m 0755 "$NOVA_LITE_STATE" "$NOVA_LITE_LOG_DIR" "$NOVA_LITE_RUN_DIR"
    install -d -m 0750 "$NOVA_LITE_STATE/images"
}

write_config() {
    write_file 0640 "$NOVA_LITE_CONF" <<END
# Written by devstack/stack.sh; re-running it rewrites this file.
# Every option, with its default and help: $NOVA_LITE_ETC/nova-lite.conf.sample

[DEFAULT]
host = $HOST_NAME
state_path = $NOVA_LITE_STATE
# log_file is unset on purpose: each service writes to standard error, which
# the service manager sends to $NOVA_LITE_LOG_DIR/<service>.log.

[database]
connection = postgresql+psycopg2://$DB_USER:$DATABASE_PASSWORD@127.0.0.1:$PG_PORT/$DB_NAME

[rpc]
transport_url = rabbit://$RABBIT_USER:$RABBIT_PASSWORD@$RABBIT_ADDRESS:$RABBIT_PORT/$RABBIT_VHOST

[api]
bind_host = 0.0.0.0
bind_port = $API_PORT
workers = 2
public_endpoint = http://$HOST_IP:$API_PORT

[identity]
fernet_key_file = $NOVA_LITE_ETC/fernet.key

# Image data is in PostgreSQL (store = database, the default); storage_dir
# is for store = file and for images uploaded before it.
[image]
storage_dir = $NOVA_LITE_STATE/images

# The user compute hosts fetch images and upload snapshots as.
[service_auth]
auth_url = http://$HOST_IP:$API_PORT/identity/v3
username = nova-lite
password = $SERVICE_PASSWORD
project_name = service

[compute]
virt_driver = $VIRT_DRIVER

[libvirt]
connection_uri = qemu:///system
# kvm only where a guest really boots under it, else qemu (TCG).
virt_type = auto
END

    local sample="$REPO_DIR/etc/nova-lite/nova-lite.conf.sample"
    if [ -f "$sample" ]; then
        write_file 0644 "$NOVA_LITE_ETC/nova-lite.conf.sample" <"$sample"
    elif [ -x "$NOVA_LITE_VENV/bin/oslo-config-generator" ]; then
        local generated
        if generated=$("$NOVA_LITE_VENV/bin/oslo-config-generator" --namespace nova_lite \
                --wrap-width 79 2>/dev/null) \
            && [ -n "$generated" ]; then
            write_file 0644 "$NOVA_LITE_ETC/nova-lite.conf.sample" <<<"$generated"
        fi
    fi
}

manage() {
    "$NOVA_LITE_VENV/bin/nova-lite-manage" --config-file "$NOVA_LITE_CONF" "$@"
}

init_database() {
    manage db sync | sed 's/^/    /'
    manage token-key create | sed 's/^/    /'
    manage bootstrap --admin-password "$ADMIN_PASSWORD" --demo-password "$DEMO_PASSWORD" \
        --service-password "$SERVICE_PASSWORD" \
        | sed 's/^/    /'
}

# ---- Services --------------------------------------------------------------------
write_unit() {
    local svc=$1
    write_file 0644 "/etc/systemd/system/nova-lite-$svc.service" <<END
# Written by devstack/stack.sh
[Unit]
Description=nova-lite $svc
After=network-online.target postgresql.service rabbitmq-server.service
Wants=network-online.target
# Never give up restarting (the default, 5 starts in 10 s, can stop a
# service whose database or broker is down for a while).
StartLimitIntervalSec=0

[Service]
Type=simple
ExecStart=$NOVA_LITE_VENV/bin/nova-lite-$svc --config-file $NOVA_LITE_CONF
# Started again 2 s after it exits, whatever the reason (kill -9 included).
Restart=always
RestartSec=2
TimeoutStopSec=$STOP_TIMEOUT
KillMode=mixed
StandardOutput=append:$(log_file "$svc")
StandardError=append:$(log_file "$svc")

[Install]
WantedBy=multi-user.target
END
    UNITS_CHANGED=$((UNITS_CHANGED + FILE_CHANGED))
}

# Sets SERVICES_STARTED_AT (UTC, the format of `nova-lite-manage service list`).
# shellcheck disable=SC2034  # read by stack.sh
start_services() {
    local svc
    if have_systemd; then
        # A run without systemd may have left a supervisord behind.
        [ -z "$(supervisord_pid)" ] || stop_supervisord
        UNITS_CHANGED=0
        for svc in "${NOVA_LITE_SERVICES[@]}"; do
            # A run without systemd may have left processes behind.
            stop_pid_service "$svc"
            write_unit "$svc"
        done
        [ "$UNITS_CHANGED" -eq 0 ] || systemctl daemon-reload
        SERVICES_STARTED_AT=$(date -u +%Y-%m-%dT%H:%M:%S+00:00)
        for svc in "${NOVA_LITE_SERVICES[@]}"; do
            systemctl enable --quiet "nova-lite-$svc"
            systemctl restart "nova-lite-$svc"
            info "(re)started nova-lite-$svc.service (log $(log_file "$svc"))"
        done
    else
        # Services started detached with PID files by an older stack.sh:
        # the API first so it stops taking requests, then the workers.
        for svc in api compute scheduler conductor; do
            stop_pid_service "$svc"
        done
        supervisor_start_services
    fi
}

# dead_service: the first service that is not running (or starting), if any.
# With systemd "activating (auto-restart)" counts as dead, with supervisord
# BACKOFF, EXITED, FATAL and STOPPED: a service that exits while stack.sh
# waits for it is a failure to report, even if it is being started again.
dead_service() {
    local svc state
    if have_systemd; then
        for svc in "${NOVA_LITE_SERVICES[@]}"; do
            systemctl is-active --quiet "nova-lite-$svc" || { echo "$svc"; return 0; }
        done
    else
        while read -r svc state; do
            case "$state" in
                RUNNING | STARTING) ;;
                *) echo "$svc"; return 0 ;;
            esac
        done < <(supervisor_status)
    fi
    return 0
}

api_answers() {
    curl -sf --noproxy '*' -o /dev/null --max-time 5 "http://127.0.0.1:$API_PORT/identity/v3"
}

# compute_up SINCE: `nova-lite-manage service list` shows this host's compute
# as up with a heartbeat at or after SINCE (UTC, 2024-01-31T12:00:00+00:00),
# so a heartbeat of a compute stopped just before does not count.
compute_up() {
    local since=$1
    COLUMNS=250 manage service list 2>/dev/null | awk -F'│|[|]' -v host="$HOST_NAME" -v since="$since" '
        { for (i = 1; i <= NF; i++) gsub(/^ +| +$/, "", $i) }
        $2 == "nova-lite-compute" && $3 == host && $5 == "up" && $6 >= since { found = 1 }
        END { exit !found }'
}

show_log_tail() {
    local svc=$1 f
    f=$(log_file "$svc")
    printf '    --- last lines of %s ---\n' "$f" >&2
    tail -n 30 "$f" 2>/dev/null | sed 's/^/    | /' >&2 || true
}

# wait_for_services SINCE (see compute_up)
wait_for_services() {
    local since=$1 start=$SECONDS api_ok=no compute_ok=no svc
    printf '    waiting for the API and the compute service (up to %ss) ' "$SERVICE_TIMEOUT"
    while :; do
        [ "$api_ok" = yes ] || { api_answers && api_ok=yes; } || true
        [ "$compute_ok" = yes ] || { compute_up "$since" && compute_ok=yes; } || true
        if [ "$api_ok" = yes ] && [ "$compute_ok" = yes ]; then
            printf ' ready (%ss)\n' $((SECONDS - start))
            return 0
        fi
        svc=$(dead_service)
        if [ -n "$svc" ]; then
            printf ' nova-lite-%s exited\n' "$svc"
            show_log_tail "$svc"
            die "nova-lite-$svc exited during start-up; see $(log_file "$svc")"
        fi
        if [ $((SECONDS - start)) -ge "$SERVICE_TIMEOUT" ]; then
            printf ' timed out (API: %s, compute up: %s)\n' "$api_ok" "$compute_ok"
            if [ "$api_ok" != yes ]; then
                show_log_tail api
            fi
            if [ "$compute_ok" != yes ]; then
                show_log_tail compute
                show_log_tail conductor
            fi
            die "the services were not ready within ${SERVICE_TIMEOUT}s"
        fi
        printf '.'
        sleep 2
    done
}

# ---- Credentials -----------------------------------------------------------------
write_openrc() {
    local user=$1 password=$2 project=$3
    write_file 0600 "$NOVA_LITE_ETC/openrc-$user" <<END
# nova-lite credentials for $user in project $project. Use: source $NOVA_LITE_ETC/openrc-$user
export OS_AUTH_URL=http://$HOST_IP:$API_PORT/identity/v3
export OS_USERNAME=$user
export OS_PASSWORD=$(shell_quote "$password")
export OS_PROJECT_NAME=$project
export OS_USER_DOMAIN_NAME=Default
export OS_PROJECT_DOMAIN_NAME=Default
export OS_REGION_NAME=RegionOne
export OS_IDENTITY_API_VERSION=3
export OS_AUTH_TYPE=password
export OS_INTERFACE=public
# Reach the API directly even when an HTTP proxy is configured.
case ",\${no_proxy:-}," in
    *,$HOST_IP,*) ;;
    *) export no_proxy=\${no_proxy:+\$no_proxy,}$HOST_IP,127.0.0.1,localhost
       export NO_PROXY=\$no_proxy ;;
esac
END
}
