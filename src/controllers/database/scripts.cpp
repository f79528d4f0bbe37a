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
    return "#!/bin/bash\n"
           "# kubecoro: the operator's account, reachable over the network; root stays on localhost.\n"
           "set -euo pipefail\n" +
           std::string(mysql_escape) + "MYSQL_PWD=$" + n.root_password + " " + n.client +
           " --protocol=socket -uroot <<SQL\n" + std::string(mysql_session) +
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
