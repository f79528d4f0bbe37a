// The Database spec as the controller uses it (defaults applied, validated), what it observed of
// the children, and the checks of a change against what exists. Pure: no I/O.
#pragma once

#include <kubecoro/core/result.hpp>
#include <kubecoro/json/value.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kubecoro::controllers::database {

enum class engine { postgresql, mysql, mariadb };

std::string_view to_string(engine e); // "postgresql", "mysql", "mariadb"
std::optional<engine> engine_from_string(std::string_view s);
int default_port(engine e);                // 5432 or 3306
std::string_view official_image(engine e); // "postgres", "mysql", "mariadb"

// "Retain", "Delete", "DoNotTerminate" (Retain, and deleting the Database is refused at admission
// and held by the finalizer until the policy is changed).
enum class deletion_policy { retain, delete_volumes, do_not_terminate };

struct resource_requirements {
    std::map<std::string, std::string> requests; // quantities as strings ("250m", "1Gi")
    std::map<std::string, std::string> limits;
    bool operator==(const resource_requirements&) const = default;
};

// Applied when spec.resources has neither requests nor limits.
resource_requirements default_resources(engine e);

struct backup_spec {
    bool enabled = true;
    std::string schedule = "0 2 * * *";
    int retention = 7;
    std::string storage; // defaults to the database's storage
    bool operator==(const backup_spec&) const = default;
};

// spec.bootstrap.fromBackup: a new Database made from a dump in another Database's backup claim.
struct bootstrap_spec {
    std::string claim_name; // the source's backup claim, "<source>-backup"
    std::string dump;       // a dump's name (its UTC timestamp, 20250101T020000Z) or "latest"
    bool operator==(const bootstrap_spec&) const = default;
};

// Where the server pod may run: passed to its pod spec as given.
struct scheduling_spec {
    std::map<std::string, std::string> node_selector;
    std::optional<json::value> tolerations; // an array of Tolerations
    std::optional<json::value> affinity;    // an Affinity; replaces the default soft anti-affinity
    std::string priority_class_name;
    bool operator==(const scheduling_spec&) const = default;
};

struct database_spec {
    database::engine engine = database::engine::postgresql;
    std::string version;
    std::string image; // spec.image, or "<official image>:<version>"
    std::string storage;
    std::optional<std::string> storage_class_name;
    int replicas = 1;
    resource_requirements resources; // defaults applied
    backup_spec backup;
    deletion_policy deletion = deletion_policy::retain;
    bool paused = false;
    // Server settings: PostgreSQL `-c key=value`, MySQL/MariaDB `--key=value`.
    std::map<std::string, std::string> parameters;
    int startup_timeout_seconds = 3600; // first start, restore or crash recovery
    int shutdown_timeout_seconds = 180; // a clean shutdown (checkpoint) before SIGKILL
    // How long the primary may be unreachable before a replica is promoted: longer than a crash
    // restart of the server (the container restarts and recovers in a few seconds), short enough
    // that a failover completes within 30 s.
    int failover_delay_seconds = 10;
    // spec.replication.synchronous: a commit is acknowledged once a replica has it on disk too
    // (PostgreSQL synchronous_standby_names 'ANY 1 (*)', set by the operator on every member).
    bool synchronous = false;
    std::optional<bootstrap_spec> bootstrap;
    scheduling_spec scheduling;
    bool operator==(const database_spec&) const = default;
};

// Decodes and validates the spec of a Database object tree. Checks what the CRD schema cannot
// (or what a client may have bypassed); the error message names every offending field, e.g.
// "spec.storage: \"10GB\" is not a quantity; spec.replicas: must be between 1 and 5 (got 7)".
core::result<database_spec> parse_spec(const json::value& db);

// PostgreSQL and MariaDB run 1..5 instances (one primary, replicas); MySQL one until its
// replication exists: more would be independent databases behind one Service.
core::result<void> validate_topology(const database_spec& spec);

// spec.deletionPolicy is DoNotTerminate, read from the object itself: it holds even when the rest
// of the spec does not decode.
bool deletion_protected(const json::value& db);

// parse_spec, then validate_name: what the controller decodes (a failure is InvalidSpec).
core::result<database_spec> decode_spec(const json::value& db, std::string_view name);

// Checks metadata.name against the names of the children the API server would refuse: the
// Services <name> and <name>-headless must be DNS-1035 labels (a letter first, no dots, at most
// 63 characters); the StatefulSet's pods carry "<name>-<revision hash>" in a label (at most 63
// characters), so at most 52; the CronJob <name>-backup at most 52, so 45 with backups enabled.
core::result<void> validate_name(std::string_view name, const database_spec& spec);

// What the controller read back of the children it applied.
struct observed_statefulset {
    std::string engine;        // label app.kubernetes.io/name
    std::string image;         // image of the "database" container
    std::string pgdata;        // PGDATA of the "database" container (PostgreSQL)
    std::string claim_storage; // volumeClaimTemplates "data": requested storage
    std::optional<std::string> claim_storage_class;
    long generation = 0;          // metadata.generation
    long observed_generation = 0; // status.observedGeneration
    int spec_replicas = 0;
    int replicas = 0; // status.*
    int ready_replicas = 0;
    int updated_replicas = 0;
    std::string current_revision;
    std::string update_revision;
    bool on_delete = false; // spec.updateStrategy OnDelete: currentRevision never catches up
};

struct observed_pvc {
    std::string name;
    std::string requested;                    // spec.resources.requests.storage
    std::string capacity;                     // status.capacity.storage
    bool resize_pending = false;              // a Resizing or FileSystemResizePending condition is True
    std::optional<std::string> storage_class; // spec.storageClassName
    std::string engine;                       // label app.kubernetes.io/name
    std::string major;                        // label kubecoro.dev/postgresql-major (PostgreSQL data)
};

inline constexpr std::string_view major_label = "kubecoro.dev/postgresql-major";

struct observed_cronjob {
    std::string created; // metadata.creationTimestamp
    std::string last_schedule_time;
    std::string last_successful_time; // batch/v1 only (Kubernetes 1.21+)
};

struct observed_job {
    std::string name;
    std::string component;      // label app.kubernetes.io/component: backup or credentials
    std::string secret_version; // annotation kubecoro.dev/secret-version (credentials jobs)
    bool succeeded = false;
    bool failed = false;
    std::string finished_time; // completionTime, or when the Failed condition became True
    std::string failure;       // the Failed condition's "reason: message"
    std::string created;       // metadata.creationTimestamp
    int active = 0;            // pods running
};

// On a server pod of a replicated Database: "primary" or "replica", set by the operator. The
// Service <name>-ro selects the replicas (ready only while they stream from the primary).
inline constexpr std::string_view role_label = "kubecoro.dev/role";

// A server pod: the primary, read only while the StatefulSet has fewer ready pods than it wants;
// every instance, listed while the Database has more than one.
struct observed_pod {
    std::string name;
    std::string revision; // label controller-revision-hash
    std::string role;     // label kubecoro.dev/role ("" until the operator set it)
    std::string uid;
    std::string ip;      // status.podIP
    std::string created; // metadata.creationTimestamp
    // Terminating, and the kubelet reported the server's container terminated after the deletion
    // was asked (so it saw the deletion, and starts nothing again): no write can reach it any more.
    bool server_stopped = false;
    // One of its containers (an init container or the server) is running: the kubelet has made
    // its sandbox and network, so a deletion now is carried out (one during that setup can leave
    // the v1.20 kubelet holding the pod Terminating for minutes).
    bool running = false;
    bool ready = false;
    bool terminating = false;
    bool scheduled = false;     // spec.nodeName is set
    std::string node;           // spec.nodeName
    std::string waiting_reason; // the database container's state.waiting
    std::string waiting_message;
    // Waiting for something that will not change by itself: an image that cannot be pulled, a
    // container that keeps crashing or cannot be created.
    bool stuck() const;
};

struct observed_state {
    std::optional<observed_statefulset> statefulset;
    std::vector<observed_pvc> data_pvcs; // the StatefulSet's claims data-<name>-<ordinal>
    std::optional<observed_pvc> backup_pvc;
    std::optional<observed_cronjob> cronjob;
    std::vector<observed_job> backup_jobs;      // Jobs labelled as this database's backups
    std::vector<observed_job> credentials_jobs; // Jobs setting the application password
    std::optional<observed_pod> pod;
    // The instance the operator made primary (status.currentPrimary, <name>-0 before it was set):
    // the pod the Service <name> selects and the one member that starts without standby.signal.
    std::string primary;
    std::vector<observed_pod> instances; // by name; listed only while there are replicas
    // While the primary changes: what the Service <name> routes to and what the ConfigMap names
    // as the member that starts as primary ("none" until one is chosen); empty: `primary`.
    bool switching = false;
    std::string routed_primary, starting_primary;
    // A replicated Database that was ready once: its data exists somewhere.
    bool initialized = false;
    // MariaDB: the members to copy from the primary again at their next start, as the ConfigMap's
    // `reseed` says them ("<pod> <requested at>" lines).
    std::string reseed;
};

observed_statefulset observe_statefulset(const json::value& sts);
observed_pvc observe_pvc(const json::value& pvc);
observed_cronjob observe_cronjob(const json::value& cronjob);
observed_job observe_job(const json::value& job);
observed_pod observe_pod(const json::value& pod);

// Refuses what cannot be applied in place: another engine (taken from the StatefulSet's and the
// data claims' app.kubernetes.io/name label: a claim kept by Retain is reused only by the same
// engine), a smaller data or backup volume, another storage class, or a PostgreSQL major version
// other than the one the data directory belongs to.
core::result<void> validate_change(const database_spec& desired, const observed_state& observed);

// The PostgreSQL data directory for a version: /var/lib/postgresql/<major>/docker (the layout of
// the official images since 18), /var/lib/postgresql/data when the tag has no leading number.
std::string postgres_data_dir(std::string_view version);

// Compares two quantities; nullopt when either does not parse.
std::optional<int> compare_quantities(std::string_view a, std::string_view b);

} // namespace kubecoro::controllers::database
