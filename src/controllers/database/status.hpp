// Database status from what the controller saw: phase, conditions, and the status apply body.
// Pure: time comes in as a parameter.
#pragma once

#include "database/spec.hpp"
#include <kubecoro/api/object_meta.hpp>
#include <kubecoro/json/value.hpp>
#include <kubecoro/runtime/conditions.hpp>

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
};
struct reconcile_error {
    error_kind kind = error_kind::apply_failed;
    std::string message;
};

struct status_input {
    api::object_meta meta;             // of the Database: generation, deletionTimestamp
    std::optional<database_spec> spec; // empty when the spec is invalid
    std::optional<reconcile_error> error;
    observed_state observed;
    std::vector<runtime::condition> conditions; // the Database's current status.conditions
    std::string phase;                          // the Database's current status.phase
    std::string now;                            // RFC 3339, for lastTransitionTime
};

struct database_status {
    database::phase phase = database::phase::pending;
    long observed_generation = 0;
    int replicas = 0;
    int ready_replicas = 0;
    std::string ready; // "1/2"
    std::string selector;
    std::string endpoint;
    std::string secret_name;
    std::string current_image;
    std::string last_schedule_time;
    std::string last_successful_time;
    std::vector<runtime::condition> conditions;
};

database_status compute_status(const status_input& in);

// {apiVersion, kind, metadata {name, namespace}, status {...}}: the body to apply on the status
// subresource (empty fields left out).
json::value render_status(const api::object_meta& db, const database_status& status);

} // namespace kubecoro::controllers::database
