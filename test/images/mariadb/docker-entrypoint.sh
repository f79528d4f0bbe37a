#!/usr/bin/env bash
# The documented contract of the official mariadb image, written anew for kubecoro's tests:
# MARIADB_ROOT_PASSWORD / MARIADB_ALLOW_EMPTY_ROOT_PASSWORD / MARIADB_RANDOM_ROOT_PASSWORD /
# MARIADB_ROOT_HOST / MARIADB_DATABASE / MARIADB_USER / MARIADB_PASSWORD / MARIADB_AUTO_UPGRADE
# (each MARIADB_* also as MYSQL_*, and as *_FILE), initialisation only of an empty data
# directory, then /docker-entrypoint-initdb.d/*.sh, *.sql, *.sql.gz in name order. Runs as uid 999
# (drops to it from root). No password ever appears in a process's arguments.
set -Eeo pipefail

log() { echo "entrypoint: $*" >&2; }

# env_var NAME [DEFAULT]: MARIADB_NAME, else MYSQL_NAME, each also read from a *_FILE.
env_var() {
    local n v f value=${2:-}
    for n in "MARIADB_$1" "MYSQL_$1"; do
        v=$n f=${n}_FILE
        if [[ -n ${!v:-} ]]; then value=${!v}; break; fi
        if [[ -n ${!f:-} ]]; then value=$(<"${!f}"); break; fi
    done
    export "MARIADB_$1"="$value"
    unset "MYSQL_$1_FILE" "MARIADB_$1_FILE"
}

# sql_escape: the value as the inside of a single-quoted SQL string literal.
sql_escape() { local s=${1//\\/\\\\}; printf '%s' "${s//\'/\\\'}"; }
ident_escape() { printf '%s' "${1//\`/\`\`}"; }

# The root password as a client option file (read through a pipe, never an argument).
root_password_file() { printf '[client]\npassword="%s"\n' "${MARIADB_ROOT_PASSWORD//\"/\\\"}"; }

# root_client ARGS...: the client as root through the socket (--defaults-extra-file must come first).
root_client() { mariadb --defaults-extra-file=<(root_password_file) --protocol=socket --socket="$socket" -uroot "$@"; }

if [[ ${1:0:1} == - ]]; then set -- mariadbd "$@"; fi

datadir() { "$@" --verbose --help 2>/dev/null | awk '$1 == "datadir" { print $2; exit }'; }
socket=/run/mysqld/mysqld.sock

if [[ $1 == mariadbd || $1 == mysqld ]] && [[ $(id -u) == 0 ]]; then
    DATADIR=$(datadir "$@")
    mkdir -p "$DATADIR"
    chown mysql:mysql "$DATADIR"
    exec gosu mysql "$BASH_SOURCE" "$@"
fi

temp_server_pid=
start_temp_server() { # server args...
    "$@" --skip-networking --socket="$socket" --wsrep_on=OFF --skip-slave-start \
        --loose-innodb_buffer_pool_load_at_startup=0 &
    temp_server_pid=$!
    local i
    for i in $(seq 1 300); do
        if mariadb --protocol=socket --socket="$socket" -uroot --password= -e 'SELECT 1' >/dev/null 2>&1 ||
            mariadb-admin --protocol=socket --socket="$socket" ping 2>&1 | grep -q 'alive\|denied'; then
            return 0
        fi
        kill -0 "$temp_server_pid" 2>/dev/null || { log "the temporary server exited"; exit 1; }
        sleep 0.2
    done
    log "the temporary server did not start"
    exit 1
}
stop_temp_server() {
    kill -TERM "$temp_server_pid"
    wait "$temp_server_pid" || :
}

initialise() { # server args...
    env_var ROOT_PASSWORD
    env_var ALLOW_EMPTY_ROOT_PASSWORD
    env_var RANDOM_ROOT_PASSWORD
    env_var ROOT_HOST %
    env_var DATABASE
    env_var USER
    env_var PASSWORD
    if [[ -z $MARIADB_ROOT_PASSWORD && -z $MARIADB_ALLOW_EMPTY_ROOT_PASSWORD && -z $MARIADB_RANDOM_ROOT_PASSWORD ]]; then
        log "the data directory is empty and no root password option is set: refusing to initialise"
        log "(set one of MARIADB_ROOT_PASSWORD, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD, MARIADB_RANDOM_ROOT_PASSWORD)"
        exit 1
    fi
    if [[ -n $MARIADB_RANDOM_ROOT_PASSWORD ]]; then
        MARIADB_ROOT_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
        echo "GENERATED ROOT PASSWORD: $MARIADB_ROOT_PASSWORD"
    fi
    if [[ $MARIADB_USER == root ]]; then
        log "MARIADB_USER=root is not allowed: set the root password with MARIADB_ROOT_PASSWORD"
        exit 1
    fi
    log "initialising $DATADIR"
    mariadb-install-db --datadir="$DATADIR" --rpm --auth-root-authentication-method=normal \
        --skip-test-db --skip-log-bin --default-time-zone=SYSTEM --expire-logs-days=0 \
        --loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0 >/dev/null
    start_temp_server "$@"

    local root_pw user_pw db user host sql
    root_pw=$(sql_escape "$MARIADB_ROOT_PASSWORD")
    host=$(sql_escape "$MARIADB_ROOT_HOST")
    sql="SET @@SESSION.SQL_LOG_BIN=0;
SET @@SESSION.SQL_MODE=REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');
DROP USER IF EXISTS root@'127.0.0.1', root@'::1';
EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\\'', @@hostname, '\\'');
SET PASSWORD FOR 'root'@'localhost' = PASSWORD('$root_pw');"
    if [[ $MARIADB_ROOT_HOST != localhost ]]; then
        sql+="
CREATE USER 'root'@'$host' IDENTIFIED BY '$root_pw';
GRANT ALL ON *.* TO 'root'@'$host' WITH GRANT OPTION;
GRANT PROXY ON ''@'%' TO 'root'@'$host' WITH GRANT OPTION;"
    fi
    if [[ -n $MARIADB_DATABASE ]]; then
        db=$(ident_escape "$MARIADB_DATABASE")
        sql+="
CREATE DATABASE IF NOT EXISTS \`$db\`;"
    fi
    if [[ -n $MARIADB_USER && -n $MARIADB_PASSWORD ]]; then
        user=$(sql_escape "$MARIADB_USER")
        user_pw=$(sql_escape "$MARIADB_PASSWORD")
        sql+="
CREATE USER '$user'@'%' IDENTIFIED BY '$user_pw';"
        [[ -n $MARIADB_DATABASE ]] && sql+="
GRANT ALL ON \`$db\`.* TO '$user'@'%';"
    fi
    # Root has no password until this runs; it reaches the client through stdin only.
    mariadb --protocol=socket --socket="$socket" -uroot --password= <<<"$sql"

    local f
    for f in /docker-entrypoint-initdb.d/*; do
        case $f in
            *.sh)
                if [[ -x $f ]]; then log "running $f"; "$f"; else log "sourcing $f"; . "$f"; fi ;;
            *.sql) log "running $f"; root_client ${MARIADB_DATABASE:+"$MARIADB_DATABASE"} <"$f" ;;
            *.sql.gz) log "running $f"; gunzip -c "$f" | root_client ${MARIADB_DATABASE:+"$MARIADB_DATABASE"} ;;
            *) [[ -e $f ]] && log "ignoring $f" ;;
        esac
    done
    stop_temp_server
    log "initialisation complete"
}

# MARIADB_AUTO_UPGRADE: a data directory written by another server version gets its system tables
# upgraded before the server starts.
upgrade_if_needed() { # server args...
    env_var AUTO_UPGRADE
    env_var ROOT_PASSWORD
    [[ -n $MARIADB_AUTO_UPGRADE ]] || return 0
    local have want
    # Versions as x.y.z: the file says "10.11.19-MariaDB", the server "10.11.19-MariaDB-0+deb12u1".
    have=$(cat "$DATADIR/mysql_upgrade_info" 2>/dev/null | tr -d '\0' || true)
    have=${have%%-*}
    want=$("$1" --version | sed -E 's/.*Ver ([^ ]+).*/\1/')
    want=${want%%-*}
    [[ -n $have && $have != "$want" ]] || return 0
    log "upgrading the system tables from $have to $want"
    start_temp_server "$@"
    mariadb-upgrade --defaults-extra-file=<(root_password_file) --protocol=socket --socket="$socket" -uroot
    stop_temp_server
}

if [[ $1 == mariadbd || $1 == mysqld ]]; then
    DATADIR=$(datadir "$@")
    if [[ ! -d $DATADIR/mysql ]]; then
        initialise "$@"
    else
        upgrade_if_needed "$@"
    fi
    unset MARIADB_ROOT_PASSWORD MYSQL_ROOT_PASSWORD
fi
exec "$@"
