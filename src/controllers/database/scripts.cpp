#include "database/scripts.hpp"

namespace kubecoro::controllers::database {
namespace {

// MySQL and MariaDB differ in the names of their clients and of the image's variables.
struct mysql_names {
    std::string client, dump, root_password;
};
mysql_names names(engine e) {
    if (e == engine::mysql)
        return {"mysql", "mysqldump", "MYSQL_ROOT_PASSWORD"};
    return {"mariadb", "mariadb-dump", "MARIADB_ROOT_PASSWORD"};
}

// Inside a single-quoted MySQL string: backslashes and quotes escaped (the session turns off
// NO_BACKSLASH_ESCAPES first).
constexpr std::string_view mysql_escape =
    "esc() { local s=${1//\\\\/\\\\\\\\}; printf '%s' \"${s//\\'/\\\\\\'}\"; }\n";
constexpr std::string_view mysql_session =
    "SET SESSION sql_mode=REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '');\n";

// The dump named by KUBECORO_RESTORE_DUMP ("latest": the newest) as $dir, or exit 1 saying why.
constexpr std::string_view find_dump = R"(dump=$KUBECORO_RESTORE_DUMP
if [[ $dump == latest ]]; then
    dump=$(cd /restore && ls -1d 2*Z 2>/dev/null | sort | tail -n 1 || true)
fi
dir=/restore/$dump
if [[ -z $dump || ! -d $dir ]]; then
    echo "kubecoro: the backup claim holds no dump named $KUBECORO_RESTORE_DUMP" >&2
    ls -1 /restore >&2 || true
    exit 1
fi
)";

// The end of every backup: the complete dump renamed into place, then the oldest beyond
// $RETENTION removed.
constexpr std::string_view finish_backup = R"(mv ".partial-$ts" "$ts"
ls -1d 2*Z | sort -r | tail -n +$((RETENTION + 1)) | xargs -r rm -rf --
bytes=$(du -sb "$ts" | cut -f1)
echo "backup $ts written: $bytes bytes"
# What the operator reads back into status.backup.lastDump.
echo "dump=$ts bytes=$bytes" >/dev/termination-log 2>/dev/null || true
)";

constexpr std::string_view start_backup = R"(set -euo pipefail
cd /backup
rm -rf .partial-*
ts=$(date -u +%Y%m%dT%H%M%SZ)
mkdir ".partial-$ts"
)";

// An init container's bash is its PID 1, which ignores a signal it has no handler for: without
// this, a pod deleted while its init container waits (for the primary, say) would stop only when
// its whole grace period ran out (the kubelet sends the image's stop signal: SIGINT for postgres).
// A trap runs once the command in the foreground ends (a second, or a connection's timeout).
constexpr std::string_view stop_at_once =
    "trap 'echo \"kubecoro: stopped by a signal\" >&2; exit 143' TERM INT\n";

} // namespace

std::string_view superuser(engine e) {
    return e == engine::postgresql ? "postgres" : "kubecoro";
}

std::string restore_marker(engine e) {
    return e == engine::postgresql ? "$PGDATA/kubecoro-restored" : "/var/lib/mysql/kubecoro-restored";
}

std::string users_script(engine e) {
    if (e == engine::postgresql)
        return R"(#!/bin/bash
# kubecoro: the application role owns the application database and can do nothing else.
set -euo pipefail
pw=${KUBECORO_APP_PASSWORD//\'/\'\'}
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname postgres <<SQL
SET log_min_error_statement = panic;
CREATE ROLE app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD '$pw';
CREATE DATABASE app OWNER app;
REVOKE ALL ON DATABASE app FROM PUBLIC;
REVOKE ALL ON DATABASE postgres FROM PUBLIC;
SQL
echo "kubecoro: role app and database app created"
)";
    mysql_names n = names(e);
    // MariaDB: kept out of the binary log (a replica is seeded from a dump, and its own GTIDs would
    // conflict with the primary's); the readiness probe's account, the container's own user over
    // the socket with no privilege.
    const std::string mariadb_only = e == engine::mariadb
                                         ? "SET SESSION sql_log_bin=0;\n"
                                           "CREATE USER 'mysql'@'localhost' IDENTIFIED VIA unix_socket;\n"
                                         : "";
    return "#!/bin/bash\n"
           "# kubecoro: the operator's account, reachable over the network; root stays on localhost.\n"
           "set -euo pipefail\n" +
           std::string(mysql_escape) + "MYSQL_PWD=$" + n.root_password + " " + n.client +
           " --protocol=socket -uroot <<SQL\n" + std::string(mysql_session) + mariadb_only +
           "CREATE USER 'kubecoro'@'%' IDENTIFIED BY '$(esc \"$" + n.root_password +
           "\")';\n"
           "GRANT ALL PRIVILEGES ON *.* TO 'kubecoro'@'%' WITH GRANT OPTION;\n"
           "SQL\n"
           "echo \"kubecoro: account kubecoro created\"\n";
}

std::string restore_script(engine e) {
    std::string head = "#!/bin/bash\n"
                       "# kubecoro: spec.bootstrap.fromBackup, restored before the server first listens.\n"
                       "set -euo pipefail\n"
                       "[[ -n ${KUBECORO_RESTORE_DUMP:-} ]] || exit 0\n" +
                       std::string(find_dump);
    if (e == engine::postgresql)
        // As the application role: what it restores is the new Database's, whoever owned it before.
        return head + R"(if [[ ! -f $dir/app.dump ]]; then
    echo "kubecoro: dump $dump holds no app.dump" >&2
    exit 1
fi
echo "kubecoro: restoring database app from dump $dump"
pg_restore --exit-on-error --no-owner --no-acl --role=app --username "$POSTGRES_USER" --dbname app "$dir/app.dump"
touch ")" + restore_marker(e) +
               "\"\necho \"kubecoro: restore of $dump complete\"\n";
    mysql_names n = names(e);
    if (e == engine::mariadb) // a replica gets the data from its primary (seed_script)
        head += R"sh(if [[ -n ${POD_NAME:-} && $POD_NAME != "$(<"$KUBECORO_CONFIG/primary")" ]]; then
    echo "kubecoro: $POD_NAME is a replica: it is seeded from the primary, which restored $KUBECORO_RESTORE_DUMP"
    exit 0
fi
)sh";
    return head + R"(shopt -s nullglob
files=("$dir"/*.sql.gz)
if [[ ${#files[@]} == 0 ]]; then
    echo "kubecoro: dump $dump holds no database" >&2
    exit 1
fi
for f in "${files[@]}"; do
    echo "kubecoro: restoring $f"
    gunzip -c "$f" | MYSQL_PWD=$)" +
           n.root_password + " " + n.client + " --protocol=socket -uroot\ndone\ntouch \"" +
           restore_marker(e) + "\"\necho \"kubecoro: restore of $dump complete\"\n";
}

std::string backup_script(engine e) {
    if (e == engine::postgresql)
        return std::string(start_backup) +
               R"(pg_dumpall --globals-only --no-role-passwords | gzip >".partial-$ts/globals.sql.gz"
dbs=$(psql -d postgres -Atc "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate AND datname <> 'postgres' ORDER BY 1")
while IFS= read -r db; do
    [[ -n $db ]] || continue
    pg_dump -Fc -f ".partial-$ts/$db.dump" "$db"
done <<<"$dbs"
)" + std::string(finish_backup);
    mysql_names n = names(e);
    std::string login = " -h \"$DB_HOST\" -P \"$DB_PORT\" -u\"$DB_USER\"";
    return std::string(start_backup) + "dbs=$(" + n.client + login +
           " -N -B -e \"SELECT schema_name FROM information_schema.schemata WHERE schema_name NOT IN "
           "('mysql', 'information_schema', 'performance_schema', 'sys') ORDER BY 1\")\n"
           "while IFS= read -r db; do\n"
           "    [[ -n $db ]] || continue\n"
           "    " +
           n.dump + login +
           " --single-transaction --routines --events --triggers --databases \"$db\" | gzip "
           ">\".partial-$ts/$db.sql.gz\"\n"
           "done <<<\"$dbs\"\n" +
           std::string(finish_backup);
}

std::string instance_script() {
    return std::string(stop_at_once) + R"sh(set -euo pipefail
umask 077
export LC_ALL=C PGCONNECT_TIMEOUT=5
primary=$(<"$KUBECORO_CONFIG/primary")
pw=${PGPASSWORD:-}
pw=${pw//\\/\\\\}
printf '*:*:*:%s:%s\n' "$PGUSER" "${pw//:/\\:}" >"$KUBECORO_RUN/pgpass"
unset PGPASSWORD pw
export PGPASSFILE=$KUBECORO_RUN/pgpass
if [[ $POD_NAME == "$primary" ]]; then
    if [[ ! -s $PGDATA/PG_VERSION && $(<"$KUBECORO_CONFIG/initialized") == true ]]; then
        echo "kubecoro: the primary's volume is empty but this Database holds data: not initialising a new," >&2
        echo "kubecoro: empty database in its place (a replica is promoted instead)" >&2
        exit 1
    fi
    echo "kubecoro: $POD_NAME starts as the primary"
    exit 0
fi
ask_primary() { psql -XAtq -h "$PRIMARY_HOST" -p 5432 -d postgres -c "$1" 2>/dev/null || true; }
if [[ -s $PGDATA/PG_VERSION ]]; then
    # No server runs while the init container does: a lock file left by a killed one is stale.
    rm -f "$PGDATA/postmaster.pid"
    # A former primary may hold WAL the new one never received: it waits for the new primary and
    # rewinds to its history (pg_rewind does nothing when this copy is only behind).
    was_primary=0
    [[ -e $PGDATA/standby.signal ]] || was_primary=1
    if ((was_primary)); then
        echo "kubecoro: $POD_NAME was a primary; waiting for the primary ($PRIMARY_HOST) to rejoin as its replica"
        until [[ $(ask_primary 'SELECT NOT pg_is_in_recovery()') == t ]]; do sleep 1; done
    fi
    mine=$(pg_controldata "$PGDATA" | sed -n 's/^Database system identifier: *//p')
    theirs=$(ask_primary 'SELECT system_identifier FROM pg_control_system()')
    if [[ -n $theirs && $mine != "$theirs" ]]; then
        echo "kubecoro: $PGDATA holds another database (system identifier $mine, the primary's $theirs)." >&2
        echo "kubecoro: it is left as it is; save what it holds, then delete its claim to make $POD_NAME a replica" >&2
        exit 1
    fi
    if ((was_primary)); then
        # Crash recovery first, with the setting pg_rewind checks (its own recovery would record
        # the data directory's default, off).
        if ! pg_controldata "$PGDATA" | grep -q '^Database cluster state: *shut down'; then
            postgres --single -F -D "$PGDATA" -c wal_log_hints=on template1 </dev/null >/dev/null
        fi
        pg_rewind --target-pgdata="$PGDATA" --source-server="host=$PRIMARY_HOST port=5432 dbname=postgres"
    fi
    touch "$PGDATA/standby.signal"
    echo "kubecoro: $POD_NAME starts as a replica of $primary"
    exit 0
fi
if [[ -d $PGDATA && -n $(ls -A "$PGDATA") ]]; then
    echo "kubecoro: $PGDATA is neither empty nor a data directory: left as it is" >&2
    exit 1
fi
clone=$(dirname "$PGDATA")/kubecoro-clone
rm -rf "$clone"
echo "kubecoro: waiting for the primary ($PRIMARY_HOST)"
until pg_isready -q -h "$PRIMARY_HOST" -p 5432; do sleep 1; done
echo "kubecoro: cloning $primary into $POD_NAME"
pg_basebackup -h "$PRIMARY_HOST" -p 5432 -D "$clone" -X stream --checkpoint=fast --no-password
touch "$clone/standby.signal"
rmdir "$PGDATA" 2>/dev/null || true
mkdir -p "$(dirname "$PGDATA")"
mv "$clone" "$PGDATA"
echo "kubecoro: $POD_NAME is a copy of $primary and starts as its replica"
)sh";
}

std::string mariadb_instance_script() {
    return std::string(stop_at_once) + R"sh(set -euo pipefail
umask 077
primary=$(<"$KUBECORO_CONFIG/primary")
ordinal=${POD_NAME##*-}
cnf=$KUBECORO_RUN/server.cnf
# Copied from the primary again (the operator found it could not replicate): its data is moved
# aside on the volume, once per request, and the image initialises the empty directory.
token=$(awk -v p="$POD_NAME" '$1 == p { print $2 }' "$KUBECORO_CONFIG/reseed")
if [[ -n $token && $POD_NAME != "$primary" && $(cat "$VOLUME/kubecoro-reseeded" 2>/dev/null) != "$token" ]]; then
    aside=$VOLUME/diverged-${token//:/}
    mkdir -p "$aside"
    shopt -s dotglob nullglob
    files=("$VOLUME"/mysql/*)
    ((${#files[@]} == 0)) || mv -- "${files[@]}" "$aside"/
    shopt -u dotglob nullglob
    echo "$token" >"$VOLUME/kubecoro-reseeded"
    echo "kubecoro: $POD_NAME could not replicate from $primary: its data is moved aside to $aside, and it is copied again"
fi
{
    echo "[mariadbd]"
    echo "server_id=$((ordinal + 1))"
    if [[ $POD_NAME == "$primary" ]]; then
        echo "read_only=OFF"
        echo "skip_slave_start"
        [[ $(<"$KUBECORO_CONFIG/synchronous") == true ]] && echo "rpl_semi_sync_master_enabled=ON"
    else
        echo "read_only=ON"
    fi
} >"$cnf.new"
mv "$cnf.new" "$cnf"
if [[ $POD_NAME == "$primary" ]]; then
    if [[ ! -d $DATADIR/mysql && $(<"$KUBECORO_CONFIG/initialized") == true ]]; then
        echo "kubecoro: the primary's volume is empty but this Database holds data: not initialising a new," >&2
        echo "kubecoro: empty database in its place (a replica is promoted instead)" >&2
        exit 1
    fi
    echo "kubecoro: $POD_NAME starts as the primary (server_id $((ordinal + 1)))"
else
    echo "kubecoro: $POD_NAME starts read-only, as a replica of $primary (server_id $((ordinal + 1)))"
fi
)sh";
}

std::string seed_script() {
    return R"sh(#!/bin/bash
# kubecoro: a replica's first start: a consistent copy of the primary (with its GTID position) in
# place of an empty database; the operator then points it at the primary.
set -euo pipefail
primary=$(<"$KUBECORO_CONFIG/primary")
[[ $POD_NAME != "$primary" ]] || exit 0
export MYSQL_PWD=$MARIADB_ROOT_PASSWORD
echo "kubecoro: waiting for the primary ($PRIMARY_HOST)"
until mariadb-admin --no-defaults -h "$PRIMARY_HOST" -P 3306 -ukubecoro --connect-timeout=3 ping >/dev/null 2>&1; do
    sleep 1
done
echo "kubecoro: copying $primary into $POD_NAME"
{
    echo "SET SESSION sql_log_bin=0;"
    echo "RESET MASTER;"
    mariadb-dump --no-defaults -h "$PRIMARY_HOST" -P 3306 -ukubecoro --all-databases --single-transaction \
        --gtid --master-data=1 --routines --events --triggers
    echo "FLUSH PRIVILEGES;"
} | mariadb --no-defaults --protocol=socket -uroot
if [[ -n ${KUBECORO_RESTORE_DUMP:-} ]]; then
    touch "$DATADIR/kubecoro-restored"
fi
echo "kubecoro: $POD_NAME is a copy of $primary at GTID $(mariadb --no-defaults --protocol=socket -uroot -N -B -e 'SELECT @@gtid_slave_pos')"
)sh";
}

std::string password_script(engine e) {
    if (e == engine::postgresql)
        return R"(set -euo pipefail
pw=${APP_PASSWORD//\'/\'\'}
psql -v ON_ERROR_STOP=1 --no-psqlrc -d postgres <<SQL
SET log_min_error_statement = panic;
SET log_statement = none;
ALTER ROLE app PASSWORD '$pw';
SQL
echo "kubecoro: the password of role app is the one in the application Secret"
)";
    mysql_names n = names(e);
    return "set -euo pipefail\n" + std::string(mysql_escape) + n.client +
           " -h \"$DB_HOST\" -P \"$DB_PORT\" -u\"$DB_USER\" <<SQL\n" + std::string(mysql_session) +
           "ALTER USER 'app'@'%' IDENTIFIED BY '$(esc \"$APP_PASSWORD\")';\n"
           "SQL\n"
           "echo \"kubecoro: the password of user app is the one in the application Secret\"\n";
}

} // namespace kubecoro::controllers::database
