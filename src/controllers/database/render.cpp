#include "database/render.hpp"

#include <kubecoro/api/object_meta.hpp>
#include <kubecoro/json/json.hpp>

#include <cctype>

namespace kubecoro::controllers::database {

namespace {

constexpr int run_as = 999; // the postgres/mysql user of the official images
constexpr int termination_grace_seconds = 60;

std::string_view backup_component = "backup";

json::value env_from_secret(std::string_view name, const std::string& secret, std::string_view key) {
    return json::object{
        {"name", name},
        {"valueFrom", json::object{{"secretKeyRef", json::object{{"name", secret}, {"key", key}}}}},
    };
}

json::value env_value(std::string_view name, std::string_view value) {
    return json::object{{"name", name}, {"value", value}};
}

json::value pod_security_context() {
    return json::object{
        {"runAsNonRoot", true},
        {"runAsUser", run_as},
        {"runAsGroup", run_as},
        {"fsGroup", run_as},
        {"seccompProfile", json::object{{"type", "RuntimeDefault"}}},
    };
}

json::value container_security_context() {
    return json::object{
        {"allowPrivilegeEscalation", false},
        {"capabilities", json::object{{"drop", json::array{"ALL"}}}},
    };
}

// The credentials the image reads at first start.
json::array server_env(const api::object_meta& db, const database_spec& spec) {
    std::string secret = secret_name(db);
    switch (spec.engine) {
    case engine::postgresql:
        return {
            env_from_secret("POSTGRES_USER", secret, "username"),
            env_from_secret("POSTGRES_PASSWORD", secret, "password"),
            env_from_secret("POSTGRES_DB", secret, "database"),
            // A subdirectory of the volume: initdb refuses a directory holding lost+found.
            env_value("PGDATA", postgres_data_dir(spec.version)),
        };
    case engine::mysql:
        return {
            env_from_secret("MYSQL_USER", secret, "username"),
            env_from_secret("MYSQL_PASSWORD", secret, "password"),
            env_from_secret("MYSQL_DATABASE", secret, "database"),
            env_from_secret("MYSQL_ROOT_PASSWORD", secret, "password"),
        };
    case engine::mariadb:
        return {
            env_from_secret("MARIADB_USER", secret, "username"),
            env_from_secret("MARIADB_PASSWORD", secret, "password"),
            env_from_secret("MARIADB_DATABASE", secret, "database"),
            env_from_secret("MARIADB_ROOT_PASSWORD", secret, "password"),
            env_value("MARIADB_AUTO_UPGRADE", "1"),
        };
    }
    return {};
}

// Logs in over TCP: the images' init phase runs a temporary server without networking, so the
// probe passes only once the real server listens. A full login (not `mysqladmin ping`, which
// succeeds even when access is denied) also proves the credentials work.
std::string probe_command(engine e) {
    switch (e) {
    case engine::postgresql:
        return "pg_isready -h 127.0.0.1 -p 5432 -U \"$POSTGRES_USER\"";
    case engine::mysql:
        return "mysql -h 127.0.0.1 -P 3306 -u\"$MYSQL_USER\" -p\"$MYSQL_PASSWORD\" -e 'SELECT 1'";
    case engine::mariadb:
        return "mariadb -h 127.0.0.1 -P 3306 -u\"$MARIADB_USER\" -p\"$MARIADB_PASSWORD\" -e 'SELECT 1'";
    }
    return {};
}

json::value exec_probe(engine e, int failure_threshold) {
    return json::object{
        {"exec", json::object{{"command", json::array{"sh", "-c", probe_command(e)}}}},
        {"periodSeconds", 10},
        {"timeoutSeconds", 5},
        {"failureThreshold", failure_threshold},
    };
}

json::value volume_mount(engine e) {
    if (e == engine::postgresql)
        return json::object{{"name", "data"}, {"mountPath", "/var/lib/postgresql"}};
    // A subdirectory: mysqld --initialize refuses a data directory holding lost+found.
    return json::object{{"name", "data"}, {"mountPath", "/var/lib/mysql"}, {"subPath", "mysql"}};
}

json::value resource_list(const std::map<std::string, std::string>& m) {
    json::object o;
    for (const auto& [k, v] : m)
        o.set(k, v);
    return o;
}

json::value resources(const resource_requirements& r) {
    json::object o;
    if (!r.requests.empty())
        o.set("requests", resource_list(r.requests));
    if (!r.limits.empty())
        o.set("limits", resource_list(r.limits));
    return o;
}

json::value port_list(engine e) {
    // protocol is part of the list's merge key: without it server-side apply rejects the list.
    return json::array{json::object{
        {"name", to_string(e)},
        {"port", default_port(e)},
        {"targetPort", to_string(e)},
        {"protocol", "TCP"},
    }};
}

json::value claim_spec(const std::string& storage, const std::optional<std::string>& storage_class) {
    json::object spec{
        {"accessModes", json::array{"ReadWriteOnce"}},
        {"resources", json::object{{"requests", json::object{{"storage", storage}}}}},
    };
    if (storage_class)
        spec.set("storageClassName", *storage_class);
    return spec;
}

std::string uri(const api::object_meta& db, engine e, std::string_view password) {
    // MariaDB clients read mysql:// too; the password alphabet needs no escaping, but a
    // hand-made Secret's might: escape everything outside RFC 3986's unreserved set.
    std::string escaped;
    for (char c : password) {
        unsigned char u = static_cast<unsigned char>(c);
        if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
            escaped += c;
        } else {
            static constexpr char hex[] = "0123456789ABCDEF";
            escaped += '%';
            escaped += hex[u >> 4];
            escaped += hex[u & 15];
        }
    }
    std::string scheme = e == engine::postgresql ? "postgresql" : "mysql";
    return scheme + "://" + std::string(app_user) + ":" + escaped + "@" + service_host(db) + ":" +
           std::to_string(default_port(e)) + "/" + std::string(app_database);
}

} // namespace

label_map selector_labels(const api::object_meta& db, engine e) {
    return {
        {"app.kubernetes.io/component", "database"},
        {"app.kubernetes.io/instance", db.name},
        {"app.kubernetes.io/name", std::string(to_string(e))},
    };
}

label_map labels(const api::object_meta& db, engine e, std::string_view component) {
    label_map m = selector_labels(db, e);
    m["app.kubernetes.io/component"] = std::string(component);
    m["app.kubernetes.io/managed-by"] = std::string(managed_by);
    return m;
}

std::string secret_name(const api::object_meta& db) {
    return db.name + "-credentials";
}
std::string headless_service_name(const api::object_meta& db) {
    return db.name + "-headless";
}
std::string backup_name(const api::object_meta& db) {
    return db.name + "-backup";
}
std::string data_claim_name(const api::object_meta& db, int ordinal) {
    return "data-" + db.name + "-" + std::to_string(ordinal);
}

std::string service_host(const api::object_meta& db, std::string_view cluster_domain) {
    return db.name + "." + db.namespace_ + ".svc." + std::string(cluster_domain);
}

std::string endpoint(const api::object_meta& db, engine e) {
    return service_host(db) + ":" + std::to_string(default_port(e));
}

json::value render_secret(const api::object_meta& db, const database_spec& spec, std::string_view password) {
    json::object data{
        {"username", base64_encode(app_user)},
        {"password", base64_encode(password)},
        {"host", base64_encode(service_host(db))},
        {"port", base64_encode(std::to_string(default_port(spec.engine)))},
        {"database", base64_encode(app_database)},
        {"uri", base64_encode(uri(db, spec.engine, password))},
    };
    json::object o =
        object_header("v1", "Secret", child_metadata(secret_name(db), db, labels(db, spec.engine), kind));
    o.set("type", "Opaque");
    o.set("data", std::move(data));
    return o;
}

std::optional<std::string> password_from_secret(const json::value& secret) {
    const json::value* p = secret.at("data", "password");
    const std::string* s = p ? p->if_string() : nullptr;
    if (!s)
        return std::nullopt;
    std::optional<std::string> password = base64_decode(*s);
    if (!password || password->empty())
        return std::nullopt;
    return password;
}

json::value render_headless_service(const api::object_meta& db, const database_spec& spec) {
    json::object o = object_header(
        "v1", "Service", child_metadata(headless_service_name(db), db, labels(db, spec.engine), kind));
    o.set("spec",
          json::object{
              {"clusterIP", "None"},
              // Pods get DNS records before they are ready: peers and init need them.
              {"publishNotReadyAddresses", true},
              {"selector", to_json(selector_labels(db, spec.engine))},
              {"ports", port_list(spec.engine)},
          });
    return o;
}

json::value render_service(const api::object_meta& db, const database_spec& spec) {
    json::object o =
        object_header("v1", "Service", child_metadata(db.name, db, labels(db, spec.engine), kind));
    o.set("spec",
          json::object{
              {"type", "ClusterIP"},
              {"selector", to_json(selector_labels(db, spec.engine))},
              {"ports", port_list(spec.engine)},
          });
    return o;
}

json::value
render_statefulset(const api::object_meta& db, const database_spec& spec, const observed_state& observed) {
    engine e = spec.engine;
    json::object container{
        {"name", "database"},
        {"image", spec.image},
        {"ports",
         json::array{
             json::object{{"name", to_string(e)}, {"containerPort", default_port(e)}, {"protocol", "TCP"}}}},
        {"env", server_env(db, spec)},
        {"resources", resources(spec.resources)},
        {"volumeMounts", json::array{volume_mount(e)}},
        {"startupProbe", exec_probe(e, 90)}, // up to 15 minutes for init or crash recovery
        {"readinessProbe", exec_probe(e, 3)},
        {"livenessProbe", exec_probe(e, 6)},
        {"securityContext", container_security_context()},
    };
    json::object pod_spec{
        {"automountServiceAccountToken", false},
        {"terminationGracePeriodSeconds", termination_grace_seconds},
        {"securityContext", pod_security_context()},
        {"containers", json::array{std::move(container)}},
    };
    std::string claim_storage = spec.storage;
    if (observed.statefulset && !observed.statefulset->claim_storage.empty())
        claim_storage = observed.statefulset->claim_storage;
    json::object claim{
        {"metadata", json::object{{"name", "data"}, {"labels", to_json(labels(db, e))}}},
        {"spec", claim_spec(claim_storage, spec.storage_class_name)},
    };

    json::object o =
        object_header("apps/v1", "StatefulSet", child_metadata(db.name, db, labels(db, e), kind));
    o.set("spec",
          json::object{
              {"serviceName", headless_service_name(db)},
              {"replicas", spec.replicas},
              {"selector", json::object{{"matchLabels", to_json(selector_labels(db, e))}}},
              {"template",
               json::object{
                   {"metadata", json::object{{"labels", to_json(labels(db, e))}}},
                   {"spec", std::move(pod_spec)},
               }},
              {"volumeClaimTemplates", json::array{std::move(claim)}},
          });
    return o;
}

json::value render_pdb(const api::object_meta& db, const database_spec& spec, std::string_view api_version) {
    json::object o = object_header(
        api_version, "PodDisruptionBudget", child_metadata(db.name, db, labels(db, spec.engine), kind));
    o.set("spec",
          json::object{
              {"maxUnavailable", 1},
              {"selector", json::object{{"matchLabels", to_json(selector_labels(db, spec.engine))}}},
          });
    return o;
}

json::value render_backup_pvc(const api::object_meta& db, const database_spec& spec) {
    // An owner reference would have the garbage collector delete the dumps with the Database,
    // whatever deletionPolicy says.
    std::string_view owner = spec.deletion == deletion_policy::delete_volumes ? kind : std::string_view();
    json::object o =
        object_header("v1",
                      "PersistentVolumeClaim",
                      child_metadata(backup_name(db), db, labels(db, spec.engine, backup_component), owner));
    o.set("spec", claim_spec(spec.backup.storage, spec.storage_class_name));
    return o;
}

std::string backup_script(engine e) {
    std::string dump;
    switch (e) {
    case engine::postgresql:
        dump = "pg_dumpall -h \"$DB_HOST\" -p \"$DB_PORT\"";
        break;
    case engine::mysql:
        dump = "mysqldump -h \"$DB_HOST\" -P \"$DB_PORT\" -uroot -p\"$DB_PASSWORD\" --single-transaction "
               "--all-databases --routines --events";
        break;
    case engine::mariadb:
        dump = "mariadb-dump -h \"$DB_HOST\" -P \"$DB_PORT\" -uroot -p\"$DB_PASSWORD\" --single-transaction "
               "--all-databases --routines --events";
        break;
    }
    // Dump to a hidden name and rename when complete, so a failed run never counts as a backup
    // (a file, not a pipe into gzip: POSIX sh has no pipefail to catch a failing dump).
    return "set -eu\n"
           "cd /backup\n"
           "rm -f .partial-*\n"
           "ts=$(date -u +%Y%m%dT%H%M%SZ)\n" +
           dump +
           " > \".partial-$ts.sql\"\n"
           "gzip \".partial-$ts.sql\"\n"
           "mv \".partial-$ts.sql.gz\" \"$ts.sql.gz\"\n"
           "ls -1t -- *.sql.gz | tail -n +$((RETENTION + 1)) | xargs -r rm -f --\n"
           "echo \"backup $ts.sql.gz written\"\n";
}

json::value
render_cronjob(const api::object_meta& db, const database_spec& spec, std::string_view api_version) {
    engine e = spec.engine;
    std::string secret = secret_name(db);
    json::array env{
        env_value("DB_HOST", db.name),
        env_value("DB_PORT", std::to_string(default_port(e))),
        env_value("RETENTION", std::to_string(spec.backup.retention)),
    };
    if (e == engine::postgresql) {
        env.push_back(env_from_secret("PGUSER", secret, "username"));
        env.push_back(env_from_secret("PGPASSWORD", secret, "password"));
    } else {
        env.push_back(env_from_secret("DB_PASSWORD", secret, "password"));
    }
    json::object container{
        {"name", "backup"},
        // The server's own image: its dump tool matches the server version.
        {"image", spec.image},
        {"command", json::array{"sh", "-c", backup_script(e)}},
        {"env", std::move(env)},
        {"volumeMounts", json::array{json::object{{"name", "backup"}, {"mountPath", "/backup"}}}},
        {"securityContext", container_security_context()},
    };
    label_map job_labels = labels(db, e, backup_component);
    json::object pod{
        {"metadata", json::object{{"labels", to_json(job_labels)}}},
        {"spec",
         json::object{
             {"restartPolicy", "Never"},
             {"automountServiceAccountToken", false},
             {"securityContext", pod_security_context()},
             {"containers", json::array{std::move(container)}},
             {"volumes",
              json::array{json::object{
                  {"name", "backup"},
                  {"persistentVolumeClaim", json::object{{"claimName", backup_name(db)}}},
              }}},
         }},
    };
    json::object o =
        object_header(api_version, "CronJob", child_metadata(backup_name(db), db, job_labels, kind));
    o.set("spec",
          json::object{
              {"schedule", spec.backup.schedule},
              {"concurrencyPolicy", "Forbid"},
              // Without a deadline, more than 100 missed schedules (controller down) stop the CronJob.
              {"startingDeadlineSeconds", 3600},
              {"successfulJobsHistoryLimit", 3},
              {"failedJobsHistoryLimit", 3},
              {"jobTemplate",
               json::object{
                   {"metadata", json::object{{"labels", to_json(job_labels)}}},
                   {"spec", json::object{{"backoffLimit", 2}, {"template", std::move(pod)}}},
               }},
          });
    return o;
}

std::vector<json::value> render_volume_expansions(const api::object_meta& db,
                                                  const database_spec& spec,
                                                  const observed_state& observed) {
    std::vector<json::value> out;
    for (const observed_pvc& pvc : observed.data_pvcs) {
        std::optional<int> c = compare_quantities(pvc.requested, spec.storage);
        if (!c || *c >= 0)
            continue;
        api::object_meta meta;
        meta.name = pvc.name;
        meta.namespace_ = db.namespace_;
        json::object o = object_header("v1", "PersistentVolumeClaim", json::encode_meta(meta));
        o.set(
            "spec",
            json::object{{"resources", json::object{{"requests", json::object{{"storage", spec.storage}}}}}});
        out.push_back(std::move(o));
    }
    return out;
}

std::vector<json::value> render_children(const api::object_meta& db,
                                         const database_spec& spec,
                                         std::string_view password,
                                         const observed_state& observed,
                                         const api_versions& versions) {
    std::vector<json::value> out;
    out.push_back(render_secret(db, spec, password));
    out.push_back(render_headless_service(db, spec));
    out.push_back(render_service(db, spec));
    out.push_back(render_statefulset(db, spec, observed));
    if (spec.replicas > 1)
        out.push_back(render_pdb(db, spec, versions.pdb));
    if (spec.backup.enabled) {
        out.push_back(render_backup_pvc(db, spec));
        out.push_back(render_cronjob(db, spec, versions.cronjob));
    }
    for (json::value& pvc : render_volume_expansions(db, spec, observed))
        out.push_back(std::move(pvc));
    return out;
}

std::vector<child_ref>
unwanted_children(const api::object_meta& db, const database_spec& spec, const api_versions& versions) {
    std::vector<child_ref> out;
    if (spec.replicas <= 1)
        out.push_back({versions.pdb, "PodDisruptionBudget", db.name});
    if (!spec.backup.enabled)
        out.push_back({versions.cronjob, "CronJob", backup_name(db)});
    return out;
}

} // namespace kubecoro::controllers::database
