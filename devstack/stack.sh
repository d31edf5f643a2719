#!/usr/bin/env bash
# devstack/stack.sh: a single-node nova-lite cloud in one command.
#
#   sudo devstack/stack.sh
#
# Installs PostgreSQL, RabbitMQ and nova-lite (from this checkout, editable,
# in /opt/nova-lite/venv), configures and starts nova-lite-{api,conductor,
# scheduler,compute} (under systemd, or without it under nova-lite's own
# supervisord: a service that dies is started again), creates the admin and demo users, the m1.* flavors and
# the nova-lite-tiny image, and writes /etc/nova-lite/openrc-{admin,demo}.
# Safe to run again: it reuses the saved passwords, changes only what is
# missing or different, and restarts the nova-lite services.
#
# Environment overrides: HOST_IP, ADMIN_PASSWORD, DEMO_PASSWORD, API_PORT,
# SERVICE_TIMEOUT, NEED_LIBPQ_DEV=1. See doc/install.md.

DEVSTACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$DEVSTACK_DIR/.." && pwd)

# shellcheck source=lib/common.sh
. "$DEVSTACK_DIR/lib/common.sh"
# shellcheck source=lib/packages.sh
. "$DEVSTACK_DIR/lib/packages.sh"
# shellcheck source=lib/postgres.sh
. "$DEVSTACK_DIR/lib/postgres.sh"
# shellcheck source=lib/rabbitmq.sh
. "$DEVSTACK_DIR/lib/rabbitmq.sh"
# shellcheck source=lib/supervisor.sh
. "$DEVSTACK_DIR/lib/supervisor.sh"
# shellcheck source=lib/nova-lite.sh
. "$DEVSTACK_DIR/lib/nova-lite.sh"
# shellcheck source=lib/image.sh
. "$DEVSTACK_DIR/lib/image.sh"
# shellcheck source=lib/libvirt.sh
. "$DEVSTACK_DIR/lib/libvirt.sh"
# shellcheck source=lib/network.sh
. "$DEVSTACK_DIR/lib/network.sh"

install_error_trap
require_root
umask 022
export LC_ALL=C.UTF-8 LANG=C.UTF-8
# The system Python and the venv's tools, never a pyenv shim or another venv.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
unset VIRTUAL_ENV PYTHONHOME PYTHONPATH PIP_REQUIRE_VIRTUALENV

HOST_NAME=$(hostname -s)
HOST_IP=$(detect_host_ip)
START_TIME=$SECONDS

echo "nova-lite devstack: repository $REPO_DIR, host $HOST_NAME ($HOST_IP), init: $(have_systemd && echo systemd || echo 'no systemd')"

step "Installing system packages"
install_packages

step "Preparing directories and secrets"
ensure_directories
ensure_secrets
state_set init "$(have_systemd && echo systemd || echo none)"

step "Starting PostgreSQL"
ensure_postgres_running

step "Creating the nova_lite database"
ensure_postgres_database

step "Starting RabbitMQ"
ensure_rabbit_running

step "Creating the RabbitMQ user and vhost"
ensure_rabbit_user

step "Starting libvirt (real guests where it works)"
ensure_libvirt

step "Installing nova-lite into $NOVA_LITE_VENV"
ensure_venv

step "Writing the configuration"
write_config

step "Migrating the database and bootstrapping identity, flavors and the token key"
init_database

step "Starting the nova-lite services"
start_services
wait_for_services "$SERVICES_STARTED_AT"
COLUMNS=120 manage service list | sed 's/^/    /'

step "Writing the openrc files"
write_openrc admin "$ADMIN_PASSWORD" admin
write_openrc demo "$DEMO_PASSWORD" demo

step "Uploading the $IMAGE_NAME image"
build_image
IMAGE_OK=yes
# Retried a few times: the API may still be warming up its workers.
for attempt in 1 2 3; do
    if upload_image; then
        IMAGE_OK=yes
        break
    fi
    IMAGE_OK=no
    [ "$attempt" -eq 3 ] || { info "retrying in 5s (attempt $attempt of 3 failed)"; sleep 5; }
done

step "Creating the default networks ($PRIVATE_NETWORK, $PUBLIC_NETWORK)"
NETWORK_OK=yes
ensure_default_networks || NETWORK_OK=no

step "Done in $((SECONDS - START_TIME))s"
cat <<END
    Endpoints (one API process on port $API_PORT):
      Identity v3   http://$HOST_IP:$API_PORT/identity/v3
      Compute v2.1  http://$HOST_IP:$API_PORT/compute/v2.1
      Image v2      http://$HOST_IP:$API_PORT/image
      Network v2    http://$HOST_IP:$API_PORT/network
    Credentials:    $NOVA_LITE_ETC/openrc-admin  $NOVA_LITE_ETC/openrc-demo
    Passwords:      $NOVA_LITE_STACK_ENV
    Configuration:  $NOVA_LITE_CONF
    Logs:           $NOVA_LITE_LOG_DIR/{api,conductor,scheduler,compute}.log
END
if have_systemd; then
    echo "    Services:       systemctl status 'nova-lite-*'   (Restart=always: one that dies is started again)"
else
    echo "    Services:       supervisorctl -c $SUPERVISORD_CONF status   (one that dies is started again)"
    echo "    supervisord:    $SUPERVISORD_LOG, programs in $SUPERVISOR_INCLUDE_DIR"
fi
cat <<END

    Try it:
      source $NOVA_LITE_ETC/openrc-demo
      openstack server create --flavor m1.tiny --image $IMAGE_NAME --wait vm1
      openstack server list                     (vm1 has an address on $PRIVATE_NETWORK)
      openstack floating ip create $PUBLIC_NETWORK
      openstack server add floating ip vm1 <the address it printed>
      openstack server delete --wait vm1
      nova-lite server create --flavor m1.tiny --image $IMAGE_NAME --wait vm2

    Stop the services:  $DEVSTACK_DIR/unstack.sh   (--all also stops RabbitMQ and PostgreSQL)
END

if [ "$NETWORK_OK" != yes ]; then
    CURRENT_STEP="Creating the default networks"
    die "the services run, but the default networks could not be created (see the messages above and $(log_file api)); re-run $0 to retry"
fi
if [ "$IMAGE_OK" != yes ]; then
    CURRENT_STEP="Uploading the $IMAGE_NAME image"
    die "the services run, but the image $IMAGE_NAME could not be uploaded (see the messages above and $(log_file api)); re-run $0 to retry"
fi
