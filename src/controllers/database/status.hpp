// Database status from what the controller saw: phase, conditions, and the status apply body.
// Pure: time comes in as a parameter.
#pragma once

#include "database/replication.hpp"
#include "database/spec.hpp"
#include <kubecoro/api/object_meta.hpp>
#include <kubecoro/json/value.hpp>
#include <kubecoro/runtime/conditions.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kubecoro::controllers::database {

enum class phase { pending, provisioning, ready, updating, degraded, failed, paused, deleting };
std::string_view to_string(phase p); // "Pending", ...

// Condition types and reasons (docs/database.md explains each).
namespace condition_type {
inline constexpr std::string_view ready = "Ready";
inline constexpr std::string_view progressing = "Progressing";
inline constexpr std::string_view backup_ready = "BackupReady";
inline constexpr std::string_view reconcile_succeeded = "ReconcileSucceeded";
inline constexpr std::string_view credentials_ready = "CredentialsReady";
// PostgreSQL with replicas: a primary takes writes (False while it is unreachable or being changed).
inline constexpr std::string_view primary_available = "PrimaryAvailable";
} // namespace condition_type

// Why a reconcile stopped before it finished applying the children.
enum class error_kind {
    invalid_spec,   // parse_spec failed
    change_refused, // validate_change failed
    apply_failed,   // the API server refused or failed an apply
    // The API server refused to raise the request of an existing volume claim (no StorageClass
    // with allowVolumeExpansion, or an unbound claim); everything else was applied.
    volume_expansion_failed,
    // The StorageClass of a claim that must grow does not allow expansion (or there is none):
    // the claims were left at their size; everything else was applied.
    volume_expansion_not_supported,
    // The superuser Secret is gone while data exists: the operator cannot log in, and will not
    // generate a password the server does not have.
    credentials_missing,
    // Being deleted with deletionPolicy DoNotTerminate: nothing is removed, the finalizer stays.
    deletion_protected,
};
struct reconcile_error {
    error_kind kind = error_kind::apply_failed;
    std::string message;
};

// The CredentialsReady condition: whether the server has the application Secret's password.
struct credentials_state {
    std::string status = "True", reason = "Applied";
    std::string message = "the application Secret's password is the server's";
};

// What status.backup remembers beyond the Jobs that still exist.
struct backup_record {
    std::string last_successful_time; // the newest success seen (kept once its Job is gone)
    std::string last_failure_time;    // the newest failed backup Job's end
    std::string last_failure;         // "job <name>: <reason>: <message>"
    std::string last_dump;            // the newest dump's name (its UTC start time)
    long long last_dump_bytes = -1;
    std::string last_dump_job; // the Job that wrote it
};

// A backup Job with no running pod this long has been refused one (quota, admission).
inline constexpr std::chrono::seconds backup_start_limit{60};
// Slack after two missed schedules before BackupStale.
inline constexpr std::chrono::minutes backup_stale_grace{10};
// When backups on `schedule` are stale: the second scheduled time after the later of the last
// success and `scheduled_since` (the backup CronJob's creation: backups enabled later have had
// no chance before), plus the grace. nullopt when neither time is known or the schedule never fires.
std::optional<std::chrono::system_clock::time_point> backup_stale_at(std::string_view schedule,
                                                                     const std::string& last_successful,
                                                                     const std::string& scheduled_since);

struct status_input;
// When the BackupReady condition may next change by time alone (a Job that may turn out not to
// start, a schedule that may be missed); nullopt when nothing is pending.
std::optional<std::chrono::system_clock::time_point> backup_recheck(const status_input& in);

struct status_input {
    api::object_meta meta;             // of the Database: generation, deletionTimestamp
    std::optional<database_spec> spec; // empty when the spec is invalid
    std::optional<reconcile_error> error;
    observed_state observed;
    std::vector<runtime::condition> conditions;   // the Database's current status.conditions
    std::string phase;                            // the Database's current status.phase
    std::string now;                              // RFC 3339, for lastTransitionTime
    std::optional<credentials_state> credentials; // unknown when the reconcile stopped before it
    // The application Secret's resourceVersion whose password the server is known to have (set at
    // first start, or by a credentials job): status.credentials.secretVersion.
    std::string credentials_version;
    std::string backup_request;                  // the last kubecoro.dev/backup-now value handled
    std::chrono::system_clock::time_point clock; // now, for the time-based backup checks
    backup_record backup;                        // carried over from the status, updated by the controller
    replication_record replication;              // carried over from the status unless planned anew
    std::optional<runtime::condition> primary_available; // set when the members were asked
    std::vector<member> members;                         // what they answered
};

// status.instances[]: a server pod of a replicated Database as the operator sees it.
struct instance_status {
    std::string name;
    std::string role; // "primary" or "replica"
    bool ready = false;
    long timeline = 0;                      // 0: unknown (it did not answer)
    std::optional<std::uint64_t> lag_bytes; // a replica: the primary's WAL position minus its replayed one
    std::optional<long> lag_seconds;
    std::string gtid;                              // MariaDB: its GTID position
    std::optional<std::uint64_t> lag_transactions; // MariaDB, a replica: the primary's sequence minus its own
    std::string replication_error;                 // MariaDB: what stopped its replication threads
};

struct database_status {
    database::phase phase = database::phase::pending;
    std::string current_primary;
    std::vector<instance_status> instances;
    long observed_generation = 0;
    int replicas = 0;
    int ready_replicas = 0;
    std::string ready; // "1/2"
    std::string selector;
    std::string endpoint;
    std::string secret_name;
    std::string superuser_secret_name;
    std::string credentials_version;
    std::string current_image;
    std::string last_schedule_time;
    std::string last_successful_time;
    std::string backup_request;
    backup_record backup;
    replication_record replication;
    std::vector<runtime::condition> conditions;
};

database_status compute_status(const status_input& in);

// {apiVersion, kind, metadata {name, namespace}, status {...}}: the body to apply on the status
// subresource (empty fields left out).
json::value render_status(const api::object_meta& db, const database_status& status);

} // namespace kubecoro::controllers::database
