// The children of a Database as server-side apply configurations: only the fields kubecoro
// means to own, so applying them again is a no-op and other managers' fields stay theirs.
#pragma once

#include "common/meta.hpp"
#include "database/spec.hpp"
#include <kubecoro/api/object_meta.hpp>
#include <kubecoro/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kubecoro::controllers::database {

inline constexpr std::string_view kind = "Database";
// The account and database the images create at first start. MySQL and MariaDB root use the same
// password (the backup job dumps as root).
inline constexpr std::string_view app_user = "app";
inline constexpr std::string_view app_database = "app";
inline constexpr std::string_view default_cluster_domain = "cluster.local";

// app.kubernetes.io/{name: <engine>, instance: <db>, component: database}: selects the server pods
// (and not the backup job's, whose component is "backup").
label_map selector_labels(const api::object_meta& db, engine e);
// The selector labels with `component`, plus app.kubernetes.io/managed-by: kubecoro.
label_map labels(const api::object_meta& db, engine e, std::string_view component = "database");

std::string secret_name(const api::object_meta& db);           // <name>-credentials
std::string headless_service_name(const api::object_meta& db); // <name>-headless
std::string backup_name(const api::object_meta& db);           // <name>-backup (PVC and CronJob)
// data-<name>-<ordinal>: the claim the StatefulSet creates for each pod.
std::string data_claim_name(const api::object_meta& db, int ordinal);
// <name>.<namespace>.svc.<cluster domain>
std::string service_host(const api::object_meta& db,
                         std::string_view cluster_domain = default_cluster_domain);
// "<service host>:<port>", what status.endpoint shows.
std::string endpoint(const api::object_meta& db, engine e);

// Secret <name>-credentials: username, password, host, port, database, uri (base64 data, so
// applying the same password again changes nothing).
json::value render_secret(const api::object_meta& db, const database_spec& spec, std::string_view password);
// The password kept in an existing credentials Secret (data.password), so it is generated once.
std::optional<std::string> password_from_secret(const json::value& secret);

json::value render_headless_service(const api::object_meta& db, const database_spec& spec);
json::value render_service(const api::object_meta& db, const database_spec& spec);

// The volume claim template cannot change once the StatefulSet exists: it keeps the observed size
// (growth goes through render_volume_expansions).
json::value
render_statefulset(const api::object_meta& db, const database_spec& spec, const observed_state& observed);

// api_version: "policy/v1" (Kubernetes 1.21+) or "policy/v1beta1".
json::value render_pdb(const api::object_meta& db, const database_spec& spec, std::string_view api_version);

// Owned by the Database (so garbage collected with it) only when deletionPolicy is Delete.
json::value render_backup_pvc(const api::object_meta& db, const database_spec& spec);
// api_version: "batch/v1" (Kubernetes 1.21+) or "batch/v1beta1".
json::value
render_cronjob(const api::object_meta& db, const database_spec& spec, std::string_view api_version);
// The shell script the backup job runs (exposed for tests and docs).
std::string backup_script(engine e);

// Apply configurations raising spec.resources.requests.storage of the existing data claims that
// request less than spec.storage.
std::vector<json::value> render_volume_expansions(const api::object_meta& db,
                                                  const database_spec& spec,
                                                  const observed_state& observed);

struct api_versions {
    std::string pdb = "policy/v1";
    std::string cronjob = "batch/v1";
};

// Everything to apply for `spec`, in a workable order: Secret, Services, StatefulSet, then the PDB
// (replicas > 1), the backup PVC and CronJob (backup enabled), and volume expansions.
std::vector<json::value> render_children(const api::object_meta& db,
                                         const database_spec& spec,
                                         std::string_view password,
                                         const observed_state& observed,
                                         const api_versions& versions = {});

struct child_ref {
    std::string api_version;
    std::string kind;
    std::string name;
    bool operator==(const child_ref&) const = default;
};
// Children an earlier spec needed and this one does not (PDB when replicas is 1, CronJob when
// backups are disabled); the controller deletes them, ignoring NotFound. The backup volume is
// kept: it holds the dumps.
std::vector<child_ref>
unwanted_children(const api::object_meta& db, const database_spec& spec, const api_versions& versions = {});

} // namespace kubecoro::controllers::database
