# shellcheck shell=bash
# The default networks, made through the Networking API with the openstack
# client (so a stack.sh run also proves that API works):
#   private  10.0.0.0/24 (+ fd00:10::/64 SLAAC), owned by the demo project;
#            `openstack server create` without --network ("auto") picks it
#   public   172.24.4.0/24, external: the floating IP pool
# and, in demo's default security group, ICMP and SSH in, so a guest answers
# ping from the host out of the box. Re-running changes nothing.

PRIVATE_NETWORK=${PRIVATE_NETWORK:-private}
PRIVATE_CIDR=${PRIVATE_CIDR:-10.0.0.0/24}
PRIVATE_CIDR_V6=${PRIVATE_CIDR_V6:-fd00:10::/64}
PUBLIC_NETWORK=${PUBLIC_NETWORK:-public}
PUBLIC_CIDR=${PUBLIC_CIDR:-172.24.4.0/24}

openstack_as() {
    local who=$1
    shift
    (
        set +u
        # shellcheck disable=SC1090
        . "$NOVA_LITE_ETC/openrc-$who"
        "$NOVA_LITE_VENV/bin/openstack" "$@"
    )
}

# ensure_network WHO NAME [create options...]
ensure_network() {
    local who=$1 name=$2
    shift 2
    if openstack_as "$who" network show -f value -c id "$name" >/dev/null 2>&1; then
        info "network $name exists"
    else
        info "creating network $name"
        openstack_as "$who" network create "$@" -f value -c id "$name" >/dev/null
    fi
}

# ensure_subnet WHO NAME NETWORK [create options...]
ensure_subnet() {
    local who=$1 name=$2 network=$3
    shift 3
    if openstack_as "$who" subnet show -f value -c id "$name" >/dev/null 2>&1; then
        info "subnet $name exists"
    else
        info "creating subnet $name"
        openstack_as "$who" subnet create --network "$network" "$@" -f value -c id \
            "$name" >/dev/null
    fi
}

# ensure_rule WHO GROUP PROTOCOL [PORT]: an ingress rule from anywhere
ensure_rule() {
    local who=$1 group=$2 protocol=$3 port=${4:-}
    local wanted="$protocol ${port:+$port:$port}"
    if openstack_as "$who" security group rule list --ingress -f value \
            -c "IP Protocol" -c "Port Range" "$group" 2>/dev/null |
            grep -qx -- "${wanted% } *"; then
        info "rule $protocol${port:+ $port} in $group exists"
        return
    fi
    info "allowing $protocol${port:+ port $port} into the $group group"
    openstack_as "$who" security group rule create --ingress --protocol "$protocol" \
        ${port:+--dst-port "$port"} "$group" -f value -c id >/dev/null
}

ensure_default_networks() {
    ensure_network admin "$PUBLIC_NETWORK" --external
    ensure_subnet admin "$PUBLIC_NETWORK-subnet" "$PUBLIC_NETWORK" \
        --subnet-range "$PUBLIC_CIDR" --no-dhcp
    ensure_network demo "$PRIVATE_NETWORK"
    ensure_subnet demo "$PRIVATE_NETWORK-subnet" "$PRIVATE_NETWORK" \
        --subnet-range "$PRIVATE_CIDR"
    ensure_subnet demo "$PRIVATE_NETWORK-subnet-v6" "$PRIVATE_NETWORK" --ip-version 6 \
        --subnet-range "$PRIVATE_CIDR_V6" --ipv6-ra-mode slaac --ipv6-address-mode slaac
    ensure_rule demo default icmp
    ensure_rule demo default tcp 22
}
