#include "database/render.hpp"

#include "database/replication.hpp"
#include "database/scripts.hpp"
#include <kubecoro/api/object_meta.hpp>
#include <kubecoro/json/json.hpp>

#include <cctype>
#include <cstdint>

namespace kubecoro::controllers::database {

namespace {

constexpr int run_as = 999; // the postgres/mysql user of the official images
constexpr int termination_grace_seconds = 60;

constexpr std::string_view backup_component = "backup";

// `optional`: the pod starts without the key (its variable is then unset).
json::value env_from_secret(std::string_view name,
                            const std::string& secret,
                            std::string_view key,
                            bool optional = false) {
    json::object ref{{"name", secret}, {"key", key}};
    if (optional)
        ref.set("optional", true);
    return json::object{
        {"name", name},
        {"valueFrom", json::object{{"secretKeyRef", std::move(ref)}}},
    };
}

json::value env_value(std::string_view name, std::string_view value) {
    return json::object{{"name", name}, {"value", value}};
}

json::object pod_security_context() {
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

// Optional: the images read the credentials only when they initialise an empty data directory, so a
// pod restarted while a Secret is gone still starts (the operator restores it).
json::value optional_secret_env(std::string_view name, const std::string& secret, std::string_view key) {
    return env_from_secret(name, secret, key, true);
}

// What the image reads at first start: the superuser, the application account (PostgreSQL: created
// by users_script), and the dump to restore.
json::array server_env(const api::object_meta& db, const database_spec& spec) {
    std::string app = secret_name(db);
    std::string super = superuser_secret_name(db);
    json::array env;
    switch (spec.engine) {
    case engine::postgresql:
        env = {
            env_value("POSTGRES_USER", superuser(spec.engine)),
            optional_secret_env("POSTGRES_PASSWORD", super, "password"),
            optional_secret_env("KUBECORO_APP_PASSWORD", app, "password"),
            // A subdirectory of the volume: initdb refuses a directory holding lost+found.
            env_value("PGDATA", postgres_data_dir(spec.version)),
        };
        break;
    case engine::mysql:
    case engine::mariadb: {
        std::string prefix = spec.engine == engine::mysql ? "MYSQL_" : "MARIADB_";
        env = {
            optional_secret_env(prefix + "ROOT_PASSWORD", super, "password"),
            env_value(prefix + "ROOT_HOST", "localhost"),
            env_value(prefix + "USER", app_user),
            optional_secret_env(prefix + "PASSWORD", app, "password"),
            env_value(prefix + "DATABASE", app_database),
        };
        if (spec.engine == engine::mariadb)
            env.push_back(env_value("MARIADB_AUTO_UPGRADE", "1"));
        break;
    }
    }
    if (spec.bootstrap)
        env.push_back(env_value("KUBECORO_RESTORE_DUMP", spec.bootstrap->dump));
    return env;
}

// Whether the server answers on TCP at all (liveness), or accepts connections (readiness). Neither
// logs in: liveness must not depend on credentials or free connection slots. pg_isready exits 0
// when the server accepts connections, 1 when it answers but rejects them (starting up, recovering),
// 2 when it does not answer; `mysqladmin ping` exits 0 whenever the server answers, access denied
// included. The images' init phase runs a server without networking, so neither passes before the
// real server listens.
std::string probe_command(engine e, bool liveness, bool restoring) {
    std::string cmd;
    switch (e) {
    case engine::postgresql:
        cmd = liveness ? "pg_isready -q -h 127.0.0.1 -p 5432; test $? -le 1"
                       : "pg_isready -q -h 127.0.0.1 -p 5432";
        break;
    case engine::mysql:
        cmd = "mysqladmin --no-defaults -h 127.0.0.1 -P 3306 --connect-timeout=3 ping";
        break;
    case engine::mariadb:
        cmd = "mariadb-admin --no-defaults -h 127.0.0.1 -P 3306 --connect-timeout=3 ping";
        break;
    }
    // A Database made from a backup is ready once the restore finished (a failed restore leaves
    // an initialised data directory that would otherwise look healthy).
    if (restoring && !liveness)
        cmd = "test -e \"" + restore_marker(e) + "\" && " + cmd;
    return cmd;
}

// A PostgreSQL replica is ready while it streams from the primary: <name>-ro sends reads only where
// the data is current. (After a promotion standby.signal is gone, and the primary's check applies.)
std::string replica_aware(std::string primary_check) {
    return "if [ -e \"$PGDATA/standby.signal\" ]; then test \"$(psql -XAt -h 127.0.0.1 -p 5432 -U postgres "
           "-d postgres -c 'SELECT status FROM pg_stat_wal_receiver' 2>/dev/null)\" = streaming; else " +
           primary_check + "; fi";
}

// MariaDB: the same for a member that is read-only: ready while its replication threads run and
// are connected to the primary. Asked over the socket as the container's own user (an account
// with no privilege, unix_socket authentication); a Database made before that account existed is
// only pinged.
std::string mariadb_replica_aware(std::string primary_check) {
    return primary_check +
           " && { out=$(mariadb --no-defaults --protocol=socket -umysql -N -B -e \"SELECT @@read_only = 0 "
           "OR VARIABLE_VALUE = 'ON' FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = "
           "'SLAVE_RUNNING'\" 2>&1); case $out in 1) true ;; *'Access denied'*) true ;; *) false ;; esac; }";
}

std::string readiness_command(engine e, bool restoring) {
    switch (e) {
    case engine::postgresql:
        return replica_aware(probe_command(e, false, restoring));
    case engine::mariadb:
        return mariadb_replica_aware(probe_command(e, false, restoring));
    case engine::mysql:
        break;
    }
    return probe_command(e, false, restoring);
}

json::value exec_probe(std::string command, int period, int failure_threshold) {
    return json::object{
        {"exec", json::object{{"command", json::array{"sh", "-c", std::move(command)}}}},
        {"periodSeconds", period},
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
std::string superuser_secret_name(const api::object_meta& db) {
    return db.name + "-superuser";
}
std::string init_configmap_name(const api::object_meta& db) {
    return db.name + "-init";
}
std::string headless_service_name(const api::object_meta& db) {
    return db.name + "-headless";
}
std::string replica_service_name(const api::object_meta& db) {
    return db.name + "-ro";
}
std::string instance_name(const api::object_meta& db, int ordinal) {
    return db.name + "-" + std::to_string(ordinal);
}
int instance_ordinal(const api::object_meta& db, std::string_view pod) {
    const std::string prefix = db.name + "-";
    if (pod.size() <= prefix.size() || pod.size() > prefix.size() + 2 || !pod.starts_with(prefix))
        return -1;
    int n = 0;
    for (char c : pod.substr(prefix.size())) {
        if (c < '0' || c > '9')
            return -1;
        n = n * 10 + (c - '0');
    }
    return n;
}
std::string backup_name(const api::object_meta& db) {
    return db.name + "-backup";
}
std::string data_claim_name(const api::object_meta& db, int ordinal) {
    return "data-" + db.name + "-" + std::to_string(ordinal);
}

std::string service_host(const api::object_meta& db) {
    return db.name + "." + db.namespace_ + ".svc";
}

std::string endpoint(const api::object_meta& db, engine e) {
    return service_host(db) + ":" + std::to_string(default_port(e));
}

namespace {
// 7 hex digits of FNV-1a: a short, stable suffix (Job names must fit 63 characters).
std::string short_hash(std::string_view s) {
    std::uint32_t h = 2166136261u;
    for (char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= 16777619u;
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 7; ++i)
        out += hex[(h >> (4 * i)) & 15];
    return out;
}
} // namespace

std::string backup_job_name(const api::object_meta& db, std::string_view token) {
    return db.name + "-backup-" + short_hash(token);
}
std::string credentials_job_name(const api::object_meta& db, std::string_view secret_version) {
    return db.name + "-pw-" + short_hash(secret_version);
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

json::value
render_superuser_secret(const api::object_meta& db, const database_spec& spec, std::string_view password) {
    json::object data{
        {"username", base64_encode(superuser(spec.engine))},
        {"password", base64_encode(password)},
        {"host", base64_encode(service_host(db))},
        {"port", base64_encode(std::to_string(default_port(spec.engine)))},
    };
    std::string_view owner = spec.deletion == deletion_policy::delete_volumes ? kind : std::string_view();
    json::object o = object_header(
        "v1",
        "Secret",
        child_metadata(superuser_secret_name(db), db, labels(db, spec.engine, "superuser"), owner));
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

namespace {

// The server's hba_file: the official image's rules (trust inside the pod, a password over the
// network) plus replication connections, which `all` does not match. Before 14 the image stores
// md5 verifiers, which "md5" accepts (it also does SCRAM for a SCRAM verifier).
std::string pg_hba(const database_spec& spec) {
    std::optional<int> major = leading_integer(spec.version);
    std::string method = !major || *major >= 14 ? "scram-sha-256" : "md5";
    return "# kubecoro: the server's hba_file\n"
           "local all all trust\n"
           "host all all 127.0.0.1/32 trust\n"
           "host all all ::1/128 trust\n"
           "local replication all trust\n"
           "host replication all 127.0.0.1/32 trust\n"
           "host replication all ::1/128 trust\n"
           "host all all all " +
           method + "\nhost replication all all " + method + "\n";
}

constexpr std::string_view users_key = "10-kubecoro-users.sh";
constexpr std::string_view restore_key = "20-kubecoro-restore.sh";
constexpr std::string_view seed_key = "30-kubecoro-replica.sh";
constexpr std::string_view synchronous_key = "synchronous";
constexpr std::string_view reseed_key = "reseed";
constexpr std::string_view volume_root = "/volume"; // the whole data volume, in MariaDB's init container
constexpr std::string_view primary_key = "primary";
constexpr std::string_view initialized_key = "initialized";
constexpr std::string_view hba_key = "pg_hba.conf";
constexpr std::string_view config_dir = "/etc/kubecoro";
constexpr std::string_view run_dir = "/run/kubecoro"; // the replication password file, in memory
constexpr std::string_view mariadb_data_dir = "/var/lib/mysql";
// A MariaDB replica away longer than this cannot catch up from the binary log.
constexpr long binlog_retention_seconds = 86400;

} // namespace

json::value render_init_configmap(const api::object_meta& db,
                                  const database_spec& spec,
                                  std::string_view primary,
                                  bool initialized,
                                  std::string_view reseed) {
    json::object o = object_header(
        "v1", "ConfigMap", child_metadata(init_configmap_name(db), db, labels(db, spec.engine), kind));
    json::object data{
        {std::string(users_key), users_script(spec.engine)},
        {std::string(restore_key), restore_script(spec.engine)},
    };
    if (spec.engine != engine::mysql) {
        data.set(std::string(primary_key), primary);
        data.set(std::string(initialized_key), initialized ? "true" : "false");
    }
    if (spec.engine == engine::postgresql)
        data.set(std::string(hba_key), pg_hba(spec));
    if (spec.engine == engine::mariadb) {
        data.set(std::string(seed_key), seed_script());
        data.set(std::string(synchronous_key), spec.synchronous ? "true" : "false");
        data.set(std::string(reseed_key), reseed.empty() ? reseed_lines({}) : std::string(reseed));
    }
    o.set("data", std::move(data));
    return o;
}

json::value render_headless_service(const api::object_meta& db, const database_spec& spec) {
    json::object o = object_header(
        "v1", "Service", child_metadata(headless_service_name(db), db, labels(db, spec.engine), kind));
    o.set("spec",
          json::object{
              {"clusterIP", "None"},
              // Pods get DNS records before they are ready: peers and init need them.
              {"publishNotReadyAddresses", true},
              {"selector", json::encode_string_map(selector_labels(db, spec.engine))},
              {"ports", port_list(spec.engine)},
          });
    return o;
}

namespace {
json::value client_service(const api::object_meta& db,
                           const database_spec& spec,
                           std::string name,
                           const label_map& selector) {
    json::object o =
        object_header("v1", "Service", child_metadata(std::move(name), db, labels(db, spec.engine), kind));
    o.set("spec",
          json::object{
              {"type", "ClusterIP"},
              {"selector", json::encode_string_map(selector)},
              {"ports", port_list(spec.engine)},
          });
    return o;
}
} // namespace

json::value render_service(const api::object_meta& db, const database_spec& spec, std::string_view primary) {
    // One pod by name: a StatefulSet left with more pods by an earlier version (or a replica not
    // yet relabelled after a change of primary) is never a target.
    label_map selector = selector_labels(db, spec.engine);
    selector["statefulset.kubernetes.io/pod-name"] = std::string(primary);
    return client_service(db, spec, db.name, selector);
}

json::value render_replica_service(const api::object_meta& db, const database_spec& spec) {
    label_map selector = selector_labels(db, spec.engine);
    selector[std::string(role_label)] = "replica";
    return client_service(db, spec, replica_service_name(db), selector);
}

std::vector<role_change> role_changes(const observed_state& observed) {
    std::vector<role_change> out;
    for (const observed_pod& pod : observed.instances) {
        std::string role = !observed.switching && pod.name == observed.primary ? "primary" : "replica";
        if (!pod.terminating && pod.role != role)
            out.push_back({pod.name, role});
    }
    return out;
}

namespace {

// PostgreSQL first gets what replication needs (the same on every member, so the pod template does
// not change with the number of replicas or with the primary); spec.parameters come last and win.
json::array server_args(const api::object_meta& db, const database_spec& spec) {
    json::array args;
    auto set = [&](const std::string& key, const std::string& value) {
        if (spec.engine == engine::postgresql) {
            args.push_back("-c");
            args.push_back(key + "=" + value);
        } else {
            args.push_back("--" + key + "=" + value);
        }
    };
    if (spec.engine == engine::postgresql) {
        set("hba_file", std::string(config_dir) + "/" + std::string(hba_key));
        std::optional<int> major = leading_integer(spec.version);
        // Ignored without standby.signal. Through the Service that follows the primary; the
        // password from a file the init container writes (never an argument). (A setting since 12.)
        if (!major || *major >= 12)
            set("primary_conninfo",
                "host=" + service_host(db) + " port=" + std::to_string(default_port(spec.engine)) +
                    " user=" + std::string(superuser(spec.engine)) + " passfile=" + std::string(run_dir) +
                    "/pgpass application_name=$(POD_NAME)");
        // For pg_rewind, when a former primary rejoins as a replica.
        set("wal_log_hints", "on");
        if (!major || *major >= 13) // a replica that was away a while can still catch up
            set("wal_keep_size", "128MB");
    }
    if (spec.engine == engine::mariadb) {
        // Written by the init container (server_id, read_only): an option file must come first.
        args.push_back("--defaults-extra-file=" + std::string(run_dir) + "/server.cnf");
        set("log_bin", "mysql-bin");
        set("log_slave_updates", "ON"); // a promoted replica serves the others from its binary log
        set("binlog_format", "ROW");
        set("gtid_strict_mode", "ON");
        set("binlog_expire_logs_seconds", std::to_string(binlog_retention_seconds));
        // Semi-synchronous commits, used when the primary's side is on (synchronous mode): a commit
        // waits for a replica to have it, however long, and never falls back to asynchronous.
        set("rpl_semi_sync_slave_enabled", "ON");
        set("rpl_semi_sync_master_wait_point", "AFTER_SYNC");
        set("rpl_semi_sync_master_timeout", "18446744073709551615");
    }
    for (const auto& [key, value] : spec.parameters)
        set(key, value);
    return args;
}

json::value key_to_path(std::string_view key) {
    return json::object{{"key", std::string(key)}, {"path", std::string(key)}};
}

json::value volume(std::string_view name, std::string_view source_kind, json::value source) {
    json::object v{{"name", name}};
    v.set(std::string(source_kind), std::move(source));
    return v;
}

} // namespace

json::value
render_statefulset(const api::object_meta& db, const database_spec& spec, const observed_state& observed) {
    engine e = spec.engine;
    const bool restoring = spec.bootstrap.has_value();
    constexpr int period = 10;
    json::array mounts{
        volume_mount(e),
        json::object{{"name", "init"}, {"mountPath", "/docker-entrypoint-initdb.d"}, {"readOnly", true}},
    };
    json::object init_source{{"name", init_configmap_name(db)}, {"defaultMode", 0555}};
    json::array volumes;
    json::array env = server_env(db, spec);
    std::optional<json::value> init_container;
    if (e == engine::postgresql) {
        // Parallel query and shared memory segments live in /dev/shm; the runtime's default is 64 MiB.
        mounts.push_back(json::object{{"name", "shm"}, {"mountPath", "/dev/shm"}});
        volumes.push_back(volume("shm", "emptyDir", json::object{{"medium", "Memory"}}));
    }
    if (e != engine::mysql) {
        const bool pg = e == engine::postgresql;
        json::array scripts{key_to_path(users_key), key_to_path(restore_key)};
        if (!pg)
            scripts.push_back(key_to_path(seed_key));
        init_source.set("items", std::move(scripts));
        // Read as the pod starts: the primary's name, and PostgreSQL's hba_file or MariaDB's mode.
        json::array topology_items{key_to_path(primary_key), key_to_path(initialized_key)};
        if (pg) {
            topology_items.push_back(key_to_path(hba_key));
        } else {
            topology_items.push_back(key_to_path(synchronous_key));
            topology_items.push_back(key_to_path(reseed_key));
        }
        json::object topology{
            {"name", init_configmap_name(db)}, {"defaultMode", 0444}, {"items", std::move(topology_items)}};
        volumes.push_back(volume("topology", "configMap", std::move(topology)));
        volumes.push_back(
            volume("run", "emptyDir", json::object{{"medium", "Memory"}, {"sizeLimit", "1Mi"}}));
        json::value topology_mount =
            json::object{{"name", "topology"}, {"mountPath", std::string(config_dir)}, {"readOnly", true}};
        json::value run_mount = json::object{{"name", "run"}, {"mountPath", std::string(run_dir)}};
        mounts.push_back(topology_mount);
        mounts.push_back(run_mount);
        json::value pod_name = json::object{
            {"name", "POD_NAME"},
            {"valueFrom", json::object{{"fieldRef", json::object{{"fieldPath", "metadata.name"}}}}},
        };
        env.push_back(pod_name);
        json::array init_env;
        if (pg) {
            // Every member but the one the operator made primary starts as a replica; a new one is
            // first cloned from the primary.
            init_env = {pod_name,
                        env_value("PGDATA", postgres_data_dir(spec.version)),
                        env_value("PGUSER", superuser(e)),
                        optional_secret_env("PGPASSWORD", superuser_secret_name(db), "password"),
                        env_value("PRIMARY_HOST", service_host(db)),
                        env_value("KUBECORO_CONFIG", config_dir),
                        env_value("KUBECORO_RUN", run_dir)};
        } else {
            // server_id and read_only, from the pod's ordinal and the ConfigMap's primary; the
            // seed script reads the same.
            for (json::value v : {env_value("KUBECORO_CONFIG", config_dir),
                                  env_value("DATADIR", mariadb_data_dir),
                                  env_value("PRIMARY_HOST", service_host(db))})
                env.push_back(std::move(v));
            init_env = {pod_name,
                        env_value("DATADIR", mariadb_data_dir),
                        env_value("VOLUME", volume_root),
                        env_value("KUBECORO_CONFIG", config_dir),
                        env_value("KUBECORO_RUN", run_dir)};
        }
        json::array init_mounts{volume_mount(e), topology_mount, run_mount};
        if (!pg) // where a replica's data is moved aside before it is copied again
            init_mounts.push_back(json::object{{"name", "data"}, {"mountPath", std::string(volume_root)}});
        init_container = json::object{
            {"name", "instance"},
            {"image", spec.image},
            {"command", json::array{"bash", "-c", pg ? instance_script() : mariadb_instance_script()}},
            {"env", std::move(init_env)},
            {"resources", resources(spec.resources)},
            {"volumeMounts", std::move(init_mounts)},
            {"securityContext", container_security_context()},
        };
    }
    volumes.push_back(volume("init", "configMap", std::move(init_source)));
    if (restoring) {
        mounts.push_back(json::object{{"name", "restore"}, {"mountPath", restore_mount}, {"readOnly", true}});
        volumes.push_back(
            volume("restore",
                   "persistentVolumeClaim",
                   json::object{{"claimName", spec.bootstrap->claim_name}, {"readOnly", true}}));
    }
    json::object container{
        {"name", "database"},
        {"image", spec.image},
        {"ports",
         json::array{
             json::object{{"name", to_string(e)}, {"containerPort", default_port(e)}, {"protocol", "TCP"}}}},
        {"env", std::move(env)},
        {"resources", resources(spec.resources)},
        {"volumeMounts", std::move(mounts)},
        // First start, a restore and crash recovery may take up to spec.startupTimeoutSeconds.
        {"startupProbe",
         exec_probe(probe_command(e, false, restoring),
                    period,
                    (spec.startup_timeout_seconds + period - 1) / period)},
        {"readinessProbe", exec_probe(readiness_command(e, restoring), 5, 3)},
        {"livenessProbe", exec_probe(probe_command(e, true, restoring), period, 6)},
        {"securityContext", container_security_context()},
    };
    if (json::array args = server_args(db, spec); !args.empty())
        container.set("args", std::move(args));
    json::object security = pod_security_context();
    // Skips the recursive chown of a large volume on every start once its root is right.
    security.set("fsGroupChangePolicy", "OnRootMismatch");
    json::object pod_spec{
        {"automountServiceAccountToken", false},
        {"terminationGracePeriodSeconds", spec.shutdown_timeout_seconds},
        {"securityContext", std::move(security)},
        {"containers", json::array{std::move(container)}},
        {"volumes", std::move(volumes)},
    };
    if (init_container)
        pod_spec.set("initContainers", json::array{std::move(*init_container)});
    const scheduling_spec& where = spec.scheduling;
    if (where.affinity) {
        pod_spec.set("affinity", *where.affinity);
    } else {
        // Soft: on one node the pods still run together; on several they spread.
        json::object term{
            {"topologyKey", "kubernetes.io/hostname"},
            {"labelSelector", json::object{{"matchLabels", json::encode_string_map(selector_labels(db, e))}}},
        };
        json::object preferred{{"weight", 100}, {"podAffinityTerm", std::move(term)}};
        pod_spec.set("affinity",
                     json::object{{"podAntiAffinity",
                                   json::object{{"preferredDuringSchedulingIgnoredDuringExecution",
                                                 json::array{std::move(preferred)}}}}});
    }
    if (!where.node_selector.empty())
        pod_spec.set("nodeSelector", json::encode_string_map(where.node_selector));
    if (where.tolerations)
        pod_spec.set("tolerations", *where.tolerations);
    if (!where.priority_class_name.empty())
        pod_spec.set("priorityClassName", where.priority_class_name);
    std::string claim_storage = spec.storage;
    if (observed.statefulset && !observed.statefulset->claim_storage.empty())
        claim_storage = observed.statefulset->claim_storage;
    json::object claim{
        {"metadata", json::object{{"name", "data"}, {"labels", json::encode_string_map(labels(db, e))}}},
        {"spec", claim_spec(claim_storage, spec.storage_class_name)},
    };

    // With replicas the operator rolls the pods itself, the primary last by a switchover. Otherwise
    // the StatefulSet controller rolls them, with the partition the server would default: without
    // it, a 1.20 server leaves rollingUpdate unset and a pod deleted for the update can come back on
    // the old revision (newVersionedStatefulSetPod), then never be replaced while it is not ready.
    json::object update_strategy{{"type", "OnDelete"}};
    if (e == engine::mysql || spec.replicas <= 1)
        update_strategy =
            json::object{{"type", "RollingUpdate"}, {"rollingUpdate", json::object{{"partition", 0}}}};
    json::object o =
        object_header("apps/v1", "StatefulSet", child_metadata(db.name, db, labels(db, e), kind));
    o.set("spec",
          json::object{
              {"serviceName", headless_service_name(db)},
              {"replicas", spec.replicas},
              {"updateStrategy", std::move(update_strategy)},
              {"selector", json::object{{"matchLabels", json::encode_string_map(selector_labels(db, e))}}},
              {"template",
               json::object{
                   {"metadata", json::object{{"labels", json::encode_string_map(labels(db, e))}}},
                   {"spec", std::move(pod_spec)},
               }},
              {"volumeClaimTemplates", json::array{std::move(claim)}},
          });
    return o;
}

std::vector<json::value> render_pdbs(const api::object_meta& db,
                                     const database_spec& spec,
                                     const observed_state& observed,
                                     std::string_view api_version) {
    auto budget = [&](const std::string& name, std::string_view role, int min_available) {
        label_map selector = selector_labels(db, spec.engine);
        selector[std::string(role_label)] = std::string(role);
        json::object o = object_header(
            api_version, "PodDisruptionBudget", child_metadata(name, db, labels(db, spec.engine), kind));
        o.set("spec",
              json::object{
                  {"minAvailable", min_available},
                  {"selector", json::object{{"matchLabels", json::encode_string_map(selector)}}},
              });
        return json::value(std::move(o));
    };
    // (minAvailable, not maxUnavailable: with a selector narrower than the StatefulSet's, the
    // disruption controller would count every pod of the StatefulSet as expected.)
    // While the primary changes every member is labelled replica (the one to promote too): none
    // may go then.
    const int replicas_kept = spec.replicas - (observed.switching ? 1 : 2);
    return {budget(db.name, "replica", replicas_kept), budget(db.name + "-primary", "primary", 1)};
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

namespace {

constexpr std::string_view credentials_component = "credentials";

// The superuser's connection, as the engine's clients read it from the environment.
json::array superuser_env(const api::object_meta& db, engine e) {
    std::string secret = superuser_secret_name(db);
    json::array env{
        env_value("DB_HOST", db.name),
        env_value("DB_PORT", std::to_string(default_port(e))),
    };
    if (e == engine::postgresql) {
        env.push_back(env_value("PGHOST", db.name));
        env.push_back(env_value("PGPORT", std::to_string(default_port(e))));
        env.push_back(env_from_secret("PGUSER", secret, "username"));
        env.push_back(env_from_secret("PGPASSWORD", secret, "password"));
    } else {
        env.push_back(env_from_secret("DB_USER", secret, "username"));
        env.push_back(env_from_secret("MYSQL_PWD", secret, "password"));
    }
    return env;
}

// A Job's spec: one pod of the server's image (its clients match the server's version) running
// `script` under bash, with a deadline, bounded resources and no retries storm.
json::object job_spec(const label_map& job_labels,
                      const database_spec& spec,
                      std::string_view container_name,
                      std::string script,
                      json::array env,
                      json::array mounts,
                      json::array volumes,
                      int deadline_seconds) {
    json::object container{
        {"name", container_name},
        {"image", spec.image},
        {"command", json::array{"bash", "-c", std::move(script)}},
        {"env", std::move(env)},
        {"resources",
         json::object{
             {"requests", json::object{{"cpu", "100m"}, {"memory", "128Mi"}}},
             {"limits", json::object{{"memory", "1Gi"}}},
         }},
        {"securityContext", container_security_context()},
    };
    if (!mounts.empty())
        container.set("volumeMounts", std::move(mounts));
    json::object pod_spec{
        {"restartPolicy", "Never"},
        {"automountServiceAccountToken", false},
        {"securityContext", pod_security_context()},
        {"containers", json::array{std::move(container)}},
    };
    if (!volumes.empty())
        pod_spec.set("volumes", std::move(volumes));
    // On the nodes the server may use (the backup claim is usually bound there too).
    if (!spec.scheduling.node_selector.empty())
        pod_spec.set("nodeSelector", json::encode_string_map(spec.scheduling.node_selector));
    if (spec.scheduling.tolerations)
        pod_spec.set("tolerations", *spec.scheduling.tolerations);
    if (!spec.scheduling.priority_class_name.empty())
        pod_spec.set("priorityClassName", spec.scheduling.priority_class_name);
    return json::object{
        {"backoffLimit", 2},
        {"activeDeadlineSeconds", deadline_seconds},
        {"ttlSecondsAfterFinished", 7 * 24 * 3600},
        {"template",
         json::object{
             {"metadata", json::object{{"labels", json::encode_string_map(job_labels)}}},
             {"spec", std::move(pod_spec)},
         }},
    };
}

json::object backup_job_spec(const api::object_meta& db, const database_spec& spec) {
    json::array env = superuser_env(db, spec.engine);
    env.push_back(env_value("RETENTION", std::to_string(spec.backup.retention)));
    return job_spec(
        labels(db, spec.engine, backup_component),
        spec,
        "backup",
        backup_script(spec.engine),
        std::move(env),
        json::array{json::object{{"name", "backup"}, {"mountPath", "/backup"}}},
        json::array{volume("backup", "persistentVolumeClaim", json::object{{"claimName", backup_name(db)}})},
        6 * 3600);
}

} // namespace

json::value
render_cronjob(const api::object_meta& db, const database_spec& spec, std::string_view api_version) {
    label_map job_labels = labels(db, spec.engine, backup_component);
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
                   {"metadata", json::object{{"labels", json::encode_string_map(job_labels)}}},
                   {"spec", backup_job_spec(db, spec)},
               }},
          });
    return o;
}

json::value render_backup_job(const api::object_meta& db, const database_spec& spec, std::string_view token) {
    label_map job_labels = labels(db, spec.engine, backup_component);
    json::value meta = child_metadata(backup_job_name(db, token), db, job_labels, kind);
    // The request it answers (`kubectl kubecoro backup --wait` finds its Job by it).
    if (auto* m = meta.if_object())
        m->set("annotations", json::object{{std::string(backup_now_annotation), std::string(token)}});
    json::object o = object_header("batch/v1", "Job", std::move(meta));
    o.set("spec", backup_job_spec(db, spec));
    return o;
}

json::value render_credentials_job(const api::object_meta& db,
                                   const database_spec& spec,
                                   std::string_view secret_version) {
    label_map job_labels = labels(db, spec.engine, credentials_component);
    json::value meta = child_metadata(credentials_job_name(db, secret_version), db, job_labels, kind);
    if (auto* m = meta.if_object())
        m->set("annotations", json::object{{"kubecoro.dev/secret-version", secret_version}});
    json::array env = superuser_env(db, spec.engine);
    env.push_back(env_from_secret("APP_PASSWORD", secret_name(db), "password"));
    json::object o = object_header("batch/v1", "Job", std::move(meta));
    o.set(
        "spec",
        job_spec(job_labels, spec, "credentials", password_script(spec.engine), std::move(env), {}, {}, 300));
    return o;
}

std::vector<json::value>
render_claim_updates(const api::object_meta& db, const database_spec& spec, const observed_state& observed) {
    std::vector<json::value> out;
    std::optional<int> major =
        spec.engine == engine::postgresql ? leading_integer(spec.version) : std::nullopt;
    for (const observed_pvc& pvc : observed.data_pvcs) {
        std::optional<int> c = compare_quantities(pvc.requested, spec.storage);
        bool grow = c && *c < 0;
        bool label = major && pvc.major.empty();
        if (!grow && !label)
            continue;
        api::object_meta meta;
        meta.name = pvc.name;
        meta.namespace_ = db.namespace_;
        if (label)
            meta.labels.set(major_label, std::to_string(*major));
        json::object o = object_header("v1", "PersistentVolumeClaim", json::encode_meta(meta));
        if (grow)
            o.set("spec",
                  json::object{
                      {"resources", json::object{{"requests", json::object{{"storage", spec.storage}}}}}});
        out.push_back(std::move(o));
    }
    return out;
}

std::vector<json::value> render_children(const api::object_meta& db,
                                         const database_spec& spec,
                                         const passwords& passwords,
                                         const observed_state& observed,
                                         const api_versions& versions) {
    std::vector<json::value> out;
    out.push_back(render_superuser_secret(db, spec, passwords.superuser));
    out.push_back(render_secret(db, spec, passwords.app));
    const std::string primary = observed.primary.empty() ? instance_name(db, 0) : observed.primary;
    out.push_back(
        render_init_configmap(db,
                              spec,
                              observed.starting_primary.empty() ? primary : observed.starting_primary,
                              observed.initialized,
                              observed.reseed));
    out.push_back(render_headless_service(db, spec));
    out.push_back(
        render_service(db, spec, observed.routed_primary.empty() ? primary : observed.routed_primary));
    if (spec.engine != engine::mysql)
        out.push_back(render_replica_service(db, spec));
    out.push_back(render_statefulset(db, spec, observed));
    if (spec.replicas > 1)
        for (json::value& pdb : render_pdbs(db, spec, observed, versions.pdb))
            out.push_back(std::move(pdb));
    if (spec.backup.enabled) {
        out.push_back(render_backup_pvc(db, spec));
        out.push_back(render_cronjob(db, spec, versions.cronjob));
    }
    for (json::value& pvc : render_claim_updates(db, spec, observed))
        out.push_back(std::move(pvc));
    return out;
}

} // namespace kubecoro::controllers::database
