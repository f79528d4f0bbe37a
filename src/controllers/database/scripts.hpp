// The shell scripts kubecoro's pods run inside the database's own image (bash, the server's
// clients): first-start setup, restore, backup, and setting the application password. Passwords
// reach SQL through the environment and a here-document, never a process's arguments.
#pragma once

#include "database/spec.hpp"

#include <string>
#include <string_view>

namespace kubecoro::controllers::database {

// The account the operator and the backups use: PostgreSQL's superuser, or for MySQL/MariaDB an
// account with every privilege that is reachable over the network (root stays on localhost).
std::string_view superuser(engine e); // "postgres" or "kubecoro"

// Where the init scripts find the source's backup claim (spec.bootstrap), mounted read-only.
inline constexpr std::string_view restore_mount = "/restore";
// The data directory's marker of a finished restore, which the probes wait for.
std::string restore_marker(engine e); // "$PGDATA/kubecoro-restored" or "/var/lib/mysql/kubecoro-restored"

// /docker-entrypoint-initdb.d/10-kubecoro-users.sh: PostgreSQL creates the application role
// (no superuser, no CREATEROLE/CREATEDB) owning the application database; MySQL/MariaDB create the
// operator's account (the image creates the application user with grants on its database only).
std::string users_script(engine e);
// /docker-entrypoint-initdb.d/20-kubecoro-restore.sh: when KUBECORO_RESTORE_DUMP names a dump
// (or "latest"), restores it from the restore mount before the server first listens.
std::string restore_script(engine e);
// The backup job: one directory per dump, <UTC start time>/, written under a hidden name and
// renamed when complete. PostgreSQL: globals.sql.gz (roles without passwords) and <db>.dump
// (pg_dump -Fc) per database; MySQL/MariaDB: <db>.sql.gz per non-system database. Keeps the newest
// $RETENTION dumps.
std::string backup_script(engine e);
// The init container of each PostgreSQL pod ($POD_NAME): writes the replication password file into
// $KUBECORO_RUN; unless $KUBECORO_CONFIG/primary names this pod, makes it start as a replica
// (standby.signal), first cloning the primary ($PRIMARY_HOST) into an empty volume. A data directory
// of another database (its system identifier differs from the primary's) is never touched.
std::string instance_script();
// The init container of each MariaDB pod ($POD_NAME): writes $KUBECORO_RUN/server.cnf, the
// server's own settings: server_id (the ordinal + 1); read_only unless $KUBECORO_CONFIG/primary
// names this pod (the operator makes a member writable by promoting it); on the primary, no
// replication threads at start and, in synchronous mode, semi-synchronous commits. The primary's
// empty volume is refused when the Database holds data, as for PostgreSQL.
std::string mariadb_instance_script();
// /docker-entrypoint-initdb.d/30-kubecoro-replica.sh: on a MariaDB replica's first start, after
// the image initialised its empty data directory, imports a consistent dump of the primary
// ($PRIMARY_HOST) with its GTID position (out of the binary log). The operator then makes it
// follow the primary.
std::string seed_script();
// The credentials job: sets the application user's password to $APP_PASSWORD, as the superuser.
std::string password_script(engine e);

} // namespace kubecoro::controllers::database
