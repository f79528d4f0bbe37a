// Backups beyond the CronJob: one Job per kubecoro.dev/backup-now request, and what finished
// backup Jobs came to (failures said once, the newest dump's name and size).
#pragma once

#include "database/resources.hpp"
#include "database/status.hpp"

namespace kubecoro::controllers::database {

// status.backup as the last status write left it.
backup_record recorded_backup(const runtime::object& db);

// kubectl annotate db/<name> kubecoro.dev/backup-now=<new value>: one backup Job per new value.
awaitable<core::result<void>> backup_on_request(runtime::managed_context& ctx,
                                                const resources& rs,
                                                const database_spec& spec,
                                                status_input& in);

// What the backup Jobs came to since the last status write: a Warning event for each newly failed
// one, and the name and size of the newest dump (from its pod's termination message, which the
// backup script writes as "dump=<name> bytes=<size>").
awaitable<void> record_backups(runtime::managed_context& ctx, const resources& rs, status_input& in);

} // namespace kubecoro::controllers::database
