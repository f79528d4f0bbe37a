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
// The application account and database every Database has (docs/database.md).
inline constexpr std::string_view app_user = "app";
inline constexpr std::string_view app_database = "app";
// On the Database: a new value starts a backup now (kubectl annotate db/x kubecoro.dev/backup-now=$(date
// +%s)).
inline constexpr std::string_view backup_now_annotation = "kubecoro.dev/backup-now";

// app.kubernetes.io/{name: <engine>, instance: <db>, component: database}: selects the server pods
// (and not the jobs', whose component is "backup" or "credentials").
label_map selector_labels(const api::object_meta& db, engine e);
// The selector labels with `component`, plus app.kubernetes.io/managed-by: kubecoro.
label_map labels(const api::object_meta& db, engine e, std::string_view component = "database");

std::string secret_name(const api::object_meta& db); // <name>-credentials: the application's
std::string
superuser_secret_name(const api::object_meta& db);           // <name>-superuser: the operator's and backups'
std::string init_configmap_name(const api::object_meta& db); // <name>-init: first-start scripts
std::string headless_service_name(const api::object_meta& db); // <name>-headless
std::string replica_service_name(const api::object_meta& db);  // <name>-ro
// <name>-<ordinal>: a server pod; <name>-0 is the first primary.
std::string instance_name(const api::object_meta& db, int ordinal);
// The ordinal of a server pod's name; -1 when it is not one of this Database's.
int instance_ordinal(const api::object_meta& db, std::string_view pod);
std::string backup_name(const api::object_meta& db); // <name>-backup (PVC and CronJob)
// data-<name>-<ordinal>: the claim the StatefulSet creates for each pod.
std::string data_claim_name(const api::object_meta& db, int ordinal);
// <name>.<namespace>.svc: resolves in every pod whatever the cluster's DNS domain.
std::string service_host(const api::object_meta& db);
// "<service host>:<port>", what status.endpoint shows.
std::string endpoint(const api::object_meta& db, engine e);
// On-demand backup and credentials jobs: <name>-backup-<7 hex> and <name>-pw-<7 hex> of `token`.
std::string backup_job_name(const api::object_meta& db, std::string_view token);
std::string credentials_job_name(const api::object_meta& db, std::string_view secret_version);

// Secret <name>-credentials: username, password, host, port, database, uri (base64 data, so
// applying the same password again changes nothing).
json::value render_secret(const api::object_meta& db, const database_spec& spec, std::string_view password);
// Secret <name>-superuser: username, password, host, port. Not owned by the Database (like the
// data it opens, it outlives a Retain deletion; Delete removes it).
json::value
render_superuser_secret(const api::object_meta& db, const database_spec& spec, std::string_view password);
// The password kept in an existing Secret (data.password).
std::optional<std::string> password_from_secret(const json::value& secret);
// ConfigMap <name>-init: users_script and restore_script, mounted in /docker-entrypoint-initdb.d;
// for PostgreSQL and MariaDB also `primary` (the instance that starts as primary, read by every
// pod as it starts) and `initialized` ("true": the replicated Database holds data, so an empty
// volume on the primary is never initialised as a new, empty database); PostgreSQL's
// `pg_hba.conf` (the server's hba_file, replication connections included); MariaDB's seed script,
// `synchronous` and `reseed` (reseed_lines: the members to copy from the primary again).
json::value render_init_configmap(const api::object_meta& db,
                                  const database_spec& spec,
                                  std::string_view primary,
                                  bool initialized = false,
                                  std::string_view reseed = "");

json::value render_headless_service(const api::object_meta& db, const database_spec& spec);
// <name>: the primary only (by pod name, so it never routes to a replica that is not yet relabelled).
json::value render_service(const api::object_meta& db, const database_spec& spec, std::string_view primary);
// <name>-ro (PostgreSQL): the pods labelled replica that are ready, that is streaming.
json::value render_replica_service(const api::object_meta& db, const database_spec& spec);

// The volume claim template cannot change once the StatefulSet exists: it keeps the observed size
// (growth goes through render_volume_expansions).
json::value
render_statefulset(const api::object_meta& db, const database_spec& spec, const observed_state& observed);

// PostgreSQL with replicas: <name> lets one replica at a time go (an eviction, a drain), none while
// the primary changes; <name>-primary lets the primary go never: a drain waits until the operator
// switched it over (upkeep.hpp). api_version: "policy/v1" (Kubernetes 1.21+) or "policy/v1beta1".
std::vector<json::value> render_pdbs(const api::object_meta& db,
                                     const database_spec& spec,
                                     const observed_state& observed,
                                     std::string_view api_version);

// Owned by the Database (so garbage collected with it) only when deletionPolicy is Delete.
json::value render_backup_pvc(const api::object_meta& db, const database_spec& spec);
// api_version: "batch/v1" (Kubernetes 1.21+) or "batch/v1beta1".
json::value
render_cronjob(const api::object_meta& db, const database_spec& spec, std::string_view api_version);
// A Job running the backup now, named backup_job_name(db, token).
json::value render_backup_job(const api::object_meta& db, const database_spec& spec, std::string_view token);
// A Job setting the application user's password inside the server to the application Secret's,
// for the Secret at `secret_version` (annotated kubecoro.dev/secret-version).
json::value render_credentials_job(const api::object_meta& db,
                                   const database_spec& spec,
                                   std::string_view secret_version);

// Apply configurations for the existing data claims: spec.resources.requests.storage raised to
// spec.storage where they request less, and (PostgreSQL) the major-version label where missing.
std::vector<json::value>
render_claim_updates(const api::object_meta& db, const database_spec& spec, const observed_state& observed);

struct api_versions {
    std::string pdb = "policy/v1";
    std::string cronjob = "batch/v1";
};

struct passwords {
    std::string app, superuser;
};

// The instances whose role label is not what it should be: primary for observed.primary, replica
// for the others (terminating pods left alone).
struct role_change {
    std::string pod, role;
    bool operator==(const role_change&) const = default;
};
std::vector<role_change> role_changes(const observed_state& observed);

// Everything to apply for `spec`, in a workable order: Secrets, init ConfigMap, Services,
// StatefulSet, then the PDB (replicas > 1), the backup PVC and CronJob (backup enabled), and the
// claim updates.
std::vector<json::value> render_children(const api::object_meta& db,
                                         const database_spec& spec,
                                         const passwords& passwords,
                                         const observed_state& observed,
                                         const api_versions& versions = {});

} // namespace kubecoro::controllers::database
