# shellcheck shell=bash
# PostgreSQL: a running cluster, the nova_lite role and database.
# Sets PG_VERSION, PG_CLUSTER and PG_PORT.

# psql as the postgres superuser over the local socket, SQL on stdin.
pg_superuser_psql() {
    (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -At \
        -p "$PG_PORT" -d postgres)
}

# Quote a string as an SQL literal.
sql_literal() { printf "'%s'" "${1//\'/\'\'}"; }

# "<version> <cluster> <port> <status>" of the cluster to use: "main" of the
# newest version if there is one, else the first listed.
pg_pick_cluster() {
    pg_lsclusters --no-header 2>/dev/null \
        | awk '{print $1, $2, $3, $4}' \
        | sort -k1,1nr -k2,2 \
        | awk '$2 == "main" {print; found = 1; exit} NR == 1 {first = $0}
               END {if (!found && first != "") print first}'
}

pg_newest_installed_version() {
    local dir best=""
    for dir in /usr/lib/postgresql/*/bin/postgres; do
        [ -x "$dir" ] || continue
        dir=${dir#/usr/lib/postgresql/}
        dir=${dir%%/*}
        if [ -z "$best" ] || [ "$dir" -gt "$best" ]; then best=$dir; fi
    done
    echo "$best"
}

pg_cluster_status() {
    pg_lsclusters --no-header "$PG_VERSION" "$PG_CLUSTER" 2>/dev/null | awk '{print $4}'
}

ensure_postgres_running() {
    local picked
    picked=$(pg_pick_cluster)
    if [ -z "$picked" ]; then
        PG_VERSION=$(pg_newest_installed_version)
        [ -n "$PG_VERSION" ] || die "no PostgreSQL server found under /usr/lib/postgresql"
        info "no cluster exists; creating $PG_VERSION/main"
        pg_createcluster "$PG_VERSION" main
        picked=$(pg_pick_cluster)
    fi
    read -r PG_VERSION PG_CLUSTER PG_PORT _ <<<"$picked"
    info "cluster $PG_VERSION/$PG_CLUSTER on port $PG_PORT"

    if have_systemd; then
        systemctl enable --now postgresql
        systemctl enable --now "postgresql@${PG_VERSION}-${PG_CLUSTER}"
    elif [ "$(pg_cluster_status)" != "online" ]; then
        info "starting it with pg_ctlcluster"
        pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start
        state_set started_postgres "$PG_VERSION $PG_CLUSTER"
    else
        info "already running"
    fi

    local waited=0
    until runuser -u postgres -- pg_isready -q -p "$PG_PORT"; do
        [ "$waited" -lt 60 ] || die "PostgreSQL $PG_VERSION/$PG_CLUSTER does not accept connections after 60s; see /var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log"
        sleep 1
        waited=$((waited + 1))
    done
}

# The nova_lite role can log in over TCP with DATABASE_PASSWORD.
pg_password_works() {
    PGPASSWORD="$DATABASE_PASSWORD" PGCONNECT_TIMEOUT=5 \
        psql -X -q -At -h 127.0.0.1 -p "$PG_PORT" -U "$DB_USER" -d "$DB_NAME" \
        -c 'SELECT 1' >/dev/null 2>&1
}

ensure_postgres_database() {
    local role_exists db_owner
    role_exists=$(pg_superuser_psql <<<"SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'")
    if [ "$role_exists" != 1 ]; then
        info "creating role $DB_USER"
        pg_superuser_psql <<<"CREATE ROLE $DB_USER LOGIN PASSWORD $(sql_literal "$DATABASE_PASSWORD")"
    fi

    db_owner=$(pg_superuser_psql <<<"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '$DB_NAME'")
    if [ -z "$db_owner" ]; then
        info "creating database $DB_NAME owned by $DB_USER"
        pg_superuser_psql <<<"CREATE DATABASE $DB_NAME OWNER $DB_USER ENCODING 'UTF8' TEMPLATE template0"
    elif [ "$db_owner" != "$DB_USER" ]; then
        info "database $DB_NAME is owned by $db_owner; giving it to $DB_USER"
        pg_superuser_psql <<<"ALTER DATABASE $DB_NAME OWNER TO $DB_USER"
    fi

    if pg_password_works; then
        info "role $DB_USER and database $DB_NAME in place"
    else
        info "setting the password of role $DB_USER to the saved one"
        pg_superuser_psql <<<"ALTER ROLE $DB_USER WITH LOGIN PASSWORD $(sql_literal "$DATABASE_PASSWORD")"
        pg_password_works || die "cannot log in to PostgreSQL as $DB_USER at 127.0.0.1:$PG_PORT with the saved password (check pg_hba.conf: host connections from 127.0.0.1 need scram-sha-256 or md5)"
    fi
}
