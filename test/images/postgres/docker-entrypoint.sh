#!/usr/bin/env bash
# The documented contract of the official postgres image, written anew for kubecoro's tests:
# POSTGRES_PASSWORD / POSTGRES_USER / POSTGRES_DB / POSTGRES_INITDB_ARGS / POSTGRES_INITDB_WALDIR /
# POSTGRES_HOST_AUTH_METHOD / PGDATA (each also as *_FILE), initialisation only of an empty data
# directory, then /docker-entrypoint-initdb.d/*.sh, *.sql, *.sql.gz in name order. Runs as uid 999
# (drops to it from root). No password ever appears in a process's arguments.
set -Eeo pipefail

log() { echo "entrypoint: $*" >&2; }

# file_env VAR [DEFAULT]: VAR from the environment, or from the file named by VAR_FILE.
file_env() {
    local var=$1 file_var=${1}_FILE default=${2:-}
    if [[ -n ${!var:-} && -n ${!file_var:-} ]]; then
        log "both $var and $file_var are set; use one"
        exit 1
    fi
    local value=$default
    if [[ -n ${!var:-} ]]; then
        value=${!var}
    elif [[ -n ${!file_var:-} ]]; then
        value=$(<"${!file_var}")
    fi
    export "$var"="$value"
    unset "$file_var"
}

if [[ ${1:0:1} == - ]]; then set -- postgres "$@"; fi

if [[ $1 == postgres && $(id -u) == 0 ]]; then
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 700 "$PGDATA"
    exec gosu postgres "$BASH_SOURCE" "$@"
fi

psql_as_superuser() {
    PGHOST=/var/run/postgresql PGPORT=5432 psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password \
        --username "$POSTGRES_USER" "$@"
}

initialise() {
    file_env POSTGRES_PASSWORD
    file_env POSTGRES_USER postgres
    file_env POSTGRES_DB "$POSTGRES_USER"
    file_env POSTGRES_INITDB_ARGS
    local auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
    if [[ -z $POSTGRES_PASSWORD && $auth != trust ]]; then
        log "the data directory is empty and POSTGRES_PASSWORD is not set: refusing to initialise"
        log "(set POSTGRES_PASSWORD, or POSTGRES_HOST_AUTH_METHOD=trust to allow connections without one)"
        exit 1
    fi
    local initdb_args=(--username="$POSTGRES_USER")
    [[ -n ${POSTGRES_INITDB_WALDIR:-} ]] && initdb_args+=(--waldir="$POSTGRES_INITDB_WALDIR")
    log "initialising $PGDATA"
    # The password reaches initdb through a pipe, never its arguments.
    # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words, as in the official image
    initdb "${initdb_args[@]}" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS
    printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"

    # A server reachable only through its socket while the databases are created.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start
    if [[ $POSTGRES_DB != postgres ]]; then
        psql_as_superuser --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
    fi
    local f
    for f in /docker-entrypoint-initdb.d/*; do
        case $f in
            *.sh)
                if [[ -x $f ]]; then log "running $f"; "$f"; else log "sourcing $f"; . "$f"; fi ;;
            *.sql) log "running $f"; psql_as_superuser --dbname "$POSTGRES_DB" -f "$f" ;;
            *.sql.gz) log "running $f"; gunzip -c "$f" | psql_as_superuser --dbname "$POSTGRES_DB" ;;
            *) [[ -e $f ]] && log "ignoring $f" ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop
    unset PGPASSWORD
    log "initialisation complete"
}

if [[ $1 == postgres ]]; then
    mkdir -p "$PGDATA"
    chmod 700 "$PGDATA" 2>/dev/null || :
    if [[ ! -s $PGDATA/PG_VERSION ]]; then
        initialise
    fi
    # The credentials stay in the environment of the pod's spec only, not of the server.
    unset POSTGRES_PASSWORD
fi
exec "$@"
