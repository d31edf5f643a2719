# shellcheck shell=bash
# RabbitMQ: a running broker, the nova_lite user and vhost.
#
# Every listener of the broker is on RABBIT_ADDRESS (127.0.0.1) only, as the
# Ansible role (ansible/roles/rabbitmq) binds a cluster to its cluster
# address: AMQP (listeners.tcp in rabbitmq.conf), the Erlang distribution
# (DIST_PORT and inet_dist_use_interface, for the server and the CLI tools,
# in rabbitmq-env.conf), epmd (ERL_EPMD_ADDRESS there; under systemd also a
# drop-in for epmd.socket, which starts it) and, if the management plugin is
# enabled, its HTTP listener. The node is rabbit@localhost, so the CLI tools
# reach it on loopback whatever the host name resolves to.
# tests/functional/test_devstack_rabbitmq.py starts a node with these files.

# The IPv4 address as an Erlang tuple: 127.0.0.1 -> {127,0,0,1}.
rabbit_erl_address() {
    printf '{%s}' "${RABBIT_ADDRESS//./,}"
}

rabbit_management_enabled() {
    grep -qs rabbitmq_management "$RABBITMQ_ETC/enabled_plugins"
}

# The contents of the files that bind the broker, one function each.
rabbit_conf() {
    cat <<END
# Written by nova-lite's devstack/stack.sh (devstack/lib/rabbitmq.sh).
# AMQP on $RABBIT_ADDRESS only: one explicit listener replaces the default one
# on every interface. The distribution port and epmd: rabbitmq-env.conf.
listeners.tcp.1 = $RABBIT_ADDRESS:$RABBIT_PORT
loopback_users.guest = true
END
    if rabbit_management_enabled; then
        printf 'management.tcp.ip = %s\n' "$RABBIT_ADDRESS"
    fi
}

rabbit_env_conf() {
    cat <<END
# Written by nova-lite's devstack/stack.sh (devstack/lib/rabbitmq.sh).
# Sourced by rabbitmq-server and every CLI tool (rabbitmqctl, ...).
NODENAME=$RABBIT_NODENAME
# The Erlang distribution (CLI tools, other nodes) on $RABBIT_ADDRESS only.
DIST_PORT=$RABBIT_DIST_PORT
SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface $(rabbit_erl_address)"
CTL_ERL_ARGS="-kernel inet_dist_use_interface $(rabbit_erl_address)"
# epmd (started by the first Erlang node of this host when systemd does not
# start it) on $RABBIT_ADDRESS; it always adds loopback itself.
ERL_EPMD_ADDRESS=$RABBIT_ADDRESS
ERL_EPMD_PORT=$RABBIT_EPMD_PORT
END
}

rabbit_epmd_socket_conf() {
    cat <<END
# Written by nova-lite's devstack/stack.sh: epmd on $RABBIT_ADDRESS only,
# not on every interface.
[Socket]
ListenStream=
ListenStream=$RABBIT_ADDRESS:$RABBIT_EPMD_PORT
BindIPv6Only=default
FreeBind=true
END
}

# "PATH FUNCTION" of each file that binds the broker.
rabbit_config_files() {
    echo "$RABBITMQ_ETC/rabbitmq.conf rabbit_conf"
    echo "$RABBITMQ_ETC/rabbitmq-env.conf rabbit_env_conf"
    if have_systemd; then
        echo "$SYSTEMD_ETC/epmd.socket.d/nova-lite.conf rabbit_epmd_socket_conf"
    fi
}

rabbit_config_differs() {
    local path fn
    while read -r path fn; do
        if ! cmp -s <("$fn") "$path"; then
            return 0
        fi
    done < <(rabbit_config_files)
    return 1
}

# Stop the broker and epmd (with the configuration they were started with),
# so that they come back bound to RABBIT_ADDRESS.
stop_rabbit_and_epmd() {
    if have_systemd; then
        systemctl stop rabbitmq-server
        systemctl stop epmd.service epmd.socket 2>/dev/null || true
    else
        rabbitmqctl -q stop >/dev/null 2>&1 || true
        epmd -kill >/dev/null 2>&1 || true
    fi
}

# Write the files that bind the broker to RABBIT_ADDRESS; a broker (and
# epmd) running with other settings is stopped first, and
# ensure_rabbit_running starts it again.
ensure_rabbit_config() {
    if ! rabbit_config_differs; then
        info "RabbitMQ listens on $RABBIT_ADDRESS only (configuration unchanged)"
        return
    fi
    if rabbit_up || pgrep -x epmd >/dev/null; then
        info "stopping RabbitMQ and epmd to bind them to $RABBIT_ADDRESS"
        stop_rabbit_and_epmd
    fi
    local path fn
    while read -r path fn; do
        mkdir -p "$(dirname "$path")"
        "$fn" | write_file 0644 "$path"
    done < <(rabbit_config_files)
    if have_systemd; then
        systemctl daemon-reload
        systemctl restart epmd.socket
    fi
}

rabbit_log_hint() {
    local f
    for f in /var/log/rabbitmq/startup_err /var/log/rabbitmq/startup_log \
             "/var/log/rabbitmq/rabbit@$(hostname -s).log"; do
        if [ -s "$f" ]; then
            printf '    --- last lines of %s ---\n' "$f" >&2
            tail -n 20 "$f" | sed 's/^/    | /' >&2
        fi
    done
}

rabbit_up() {
    rabbitmqctl -q await_startup --timeout 5 >/dev/null 2>&1
}

# Wait until the node answers and its application runs, with a progress line.
wait_for_rabbit() {
    local start=$SECONDS
    printf '    waiting for RabbitMQ (up to %ss) ' "$RABBIT_TIMEOUT"
    until rabbit_up; do
        if [ $((SECONDS - start)) -ge "$RABBIT_TIMEOUT" ]; then
            printf ' timed out\n'
            rabbit_log_hint
            die "RabbitMQ did not start within ${RABBIT_TIMEOUT}s"
        fi
        printf '.'
        sleep 2
    done
    printf ' up (%ss)\n' $((SECONDS - start))
}

ensure_rabbit_running() {
    ensure_rabbit_config
    if have_systemd; then
        systemctl enable --now rabbitmq-server
    elif rabbit_up; then
        info "already running"
    else
        info "starting it with rabbitmq-server -detached"
        rabbitmq-server -detached
        state_set started_rabbitmq 1
    fi
    wait_for_rabbit
    # Quorum queues (which nova-lite declares) need the quorum_queue feature
    # flag; a fresh 3.10 node has every flag on, a node upgraded from older
    # releases may not. Enabling them all is idempotent.
    rabbitmqctl -q enable_feature_flag all >/dev/null
}

rabbit_list_first_column() {
    rabbitmqctl -q "$@" --no-table-headers 2>/dev/null | awk '{print $1}'
}

# The password goes on standard input (rabbitmqctl reads it from there when
# it is not an argument), so it never shows up in a process listing.
ensure_rabbit_user() {
    if ! rabbit_list_first_column list_users | grep -qx "$RABBIT_USER"; then
        info "creating user $RABBIT_USER"
        rabbitmqctl -q add_user "$RABBIT_USER" <<<"$RABBIT_PASSWORD" >/dev/null
    elif ! rabbitmqctl -q authenticate_user "$RABBIT_USER" <<<"$RABBIT_PASSWORD" >/dev/null 2>&1; then
        info "setting the password of user $RABBIT_USER to the saved one"
        rabbitmqctl -q change_password "$RABBIT_USER" <<<"$RABBIT_PASSWORD" >/dev/null
    fi
    if ! rabbit_list_first_column list_vhosts | grep -qx "$RABBIT_VHOST"; then
        info "creating vhost $RABBIT_VHOST"
        rabbitmqctl -q add_vhost "$RABBIT_VHOST" >/dev/null
    fi
    rabbitmqctl -q set_permissions -p "$RABBIT_VHOST" "$RABBIT_USER" '.*' '.*' '.*' >/dev/null
    info "user $RABBIT_USER has full permissions on vhost $RABBIT_VHOST"
}
