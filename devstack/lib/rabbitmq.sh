# shellcheck shell=bash
# RabbitMQ: a running broker, the nova_lite user and vhost.

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
