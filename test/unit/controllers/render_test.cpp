#include "database/render.hpp"
#include "database/replication.hpp"
#include "database/scripts.hpp"
#include "helpers.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <string>

using namespace kubecoro;
using namespace kubecoro::controllers;
using namespace kubecoro::controllers::database;
using json::value;
using test_helpers::by_name;
using test_helpers::num;
using test_helpers::parse;
using test_helpers::str;

namespace {

api::object_meta db_meta() {
    api::object_meta m;
    m.name = "db1";
    m.namespace_ = "ns";
    m.uid = "1234-uid";
    m.generation = 4;
    return m;
}

database_spec spec_for(std::string_view engine_name, std::string_view version, std::string_view extra = "") {
    auto s = parse_spec(parse(R"({"spec":{"engine":")" + std::string(engine_name) + R"(","version":")" +
                              std::string(version) + R"(","storage":"10Gi")" + std::string(extra) + "}}"));
    REQUIRE_MESSAGE(s.has_value(), s.error().message);
    return *s;
}

// The controller owner reference and the common labels every owned child carries.
void check_owned(const value& obj, std::string_view name, std::string_view component = "database") {
    CHECK(str(obj.at("metadata", "name")) == name);
    CHECK(str(obj.at("metadata", "namespace")) == "ns");
    const value* labels = obj.at("metadata", "labels");
    CHECK(str(labels->at("app.kubernetes.io/instance")) == "db1");
    CHECK(str(labels->at("app.kubernetes.io/managed-by")) == "kubecoro");
    CHECK(str(labels->at("app.kubernetes.io/component")) == component);
    const value* refs = obj.at("metadata", "ownerReferences");
    REQUIRE(test_helpers::size(refs) == 1);
    const value& ref = refs->if_array()->front();
    CHECK(str(ref.at("apiVersion")) == "kubecoro.dev/v1alpha1");
    CHECK(str(ref.at("kind")) == "Database");
    CHECK(str(ref.at("name")) == "db1");
    CHECK(str(ref.at("uid")) == "1234-uid");
    CHECK(*ref.at("controller") == value(true));
    CHECK(*ref.at("blockOwnerDeletion") == value(true));
}

const value& database_container(const value& sts) {
    const value* c = by_name(sts.at("spec", "template", "spec", "containers"), "database");
    REQUIRE(c);
    return *c;
}

std::string probe_script(const value& container, std::string_view probe) {
    const value* cmd = container.at(probe, "exec", "command");
    REQUIRE(test_helpers::size(cmd) == 3);
    CHECK(*cmd->if_array()->at(0).if_string() == "sh");
    CHECK(*cmd->if_array()->at(1).if_string() == "-c");
    return *cmd->if_array()->at(2).if_string();
}

void check_secret_env(const value& container,
                      std::string_view env,
                      std::string_view key,
                      std::string_view secret = "db1-credentials") {
    CAPTURE(env);
    const value* e = by_name(container.at("env"), env);
    REQUIRE(e);
    CHECK(str(e->at("valueFrom", "secretKeyRef", "name")) == secret);
    CHECK(str(e->at("valueFrom", "secretKeyRef", "key")) == key);
    CHECK(e->at("value") == nullptr);
}

// The server reads its credentials only at first start: a Secret gone later must not keep a
// restarted pod from starting.
void check_optional_secret_env(const value& container,
                               std::string_view env,
                               std::string_view secret,
                               std::string_view key = "password") {
    check_secret_env(container, env, key, secret);
    const value* e = by_name(container.at("env"), env);
    REQUIRE(e);
    CHECK(*e->at("valueFrom", "secretKeyRef", "optional") == value(true));
}

std::string env_value(const value& container, std::string_view env) {
    const value* e = by_name(container.at("env"), env);
    REQUIRE_MESSAGE(e, env);
    return str(e->at("value"));
}

} // namespace

TEST_CASE("labels and names") {
    auto m = db_meta();
    CHECK(selector_string(selector_labels(m, engine::mysql)) ==
          "app.kubernetes.io/component=database,app.kubernetes.io/instance=db1,app.kubernetes.io/name=mysql");
    CHECK(labels(m, engine::mysql, "backup").at("app.kubernetes.io/component") == "backup");
    CHECK(secret_name(m) == "db1-credentials");
    CHECK(superuser_secret_name(m) == "db1-superuser");
    CHECK(init_configmap_name(m) == "db1-init");
    CHECK(backup_job_name(m, "now") == backup_job_name(m, "now"));
    CHECK(backup_job_name(m, "now") != backup_job_name(m, "later"));
    CHECK(backup_job_name(m, "now").rfind("db1-backup-", 0) == 0);
    CHECK(backup_job_name(m, "now").size() == std::string("db1-backup-").size() + 7);
    CHECK(credentials_job_name(m, "123").rfind("db1-pw-", 0) == 0);
    CHECK(headless_service_name(m) == "db1-headless");
    CHECK(backup_name(m) == "db1-backup");
    CHECK(data_claim_name(m, 2) == "data-db1-2");
    CHECK(replica_service_name(m) == "db1-ro");
    CHECK(instance_name(m, 3) == "db1-3");
    CHECK(instance_ordinal(m, "db1-3") == 3);
    CHECK(instance_ordinal(m, "db1-12") == 12);
    CHECK(instance_ordinal(m, "db1-") == -1);
    CHECK(instance_ordinal(m, "db1-x") == -1);
    CHECK(instance_ordinal(m, "db2-0") == -1);
    CHECK(instance_ordinal(m, "none") == -1);
    // No cluster domain: <svc>.<ns>.svc resolves through every pod's search path.
    CHECK(endpoint(m, engine::postgresql) == "db1.ns.svc:5432");
    CHECK(endpoint(m, engine::mariadb) == "db1.ns.svc:3306");
}

TEST_CASE("render_secret: base64 data and the password round trip") {
    auto m = db_meta();
    value secret = render_secret(m, spec_for("postgresql", "16"), "pa55-word_X");
    CHECK(str(secret.at("apiVersion")) == "v1");
    CHECK(str(secret.at("kind")) == "Secret");
    CHECK(str(secret.at("type")) == "Opaque");
    check_owned(secret, "db1-credentials");
    auto decoded = [&](std::string_view key) {
        return base64_decode(str(secret.at("data", key))).value_or("<bad>");
    };
    CHECK(decoded("username") == "app");
    CHECK(decoded("password") == "pa55-word_X");
    CHECK(decoded("host") == "db1.ns.svc");
    CHECK(decoded("port") == "5432");
    CHECK(decoded("database") == "app");
    CHECK(decoded("uri") == "postgresql://app:pa55-word_X@db1.ns.svc:5432/app");
    CHECK(test_helpers::size(secret.at("data")) == 6);
    CHECK(secret.at("stringData") == nullptr);
    CHECK(password_from_secret(secret) == "pa55-word_X");

    value mysql = render_secret(m, spec_for("mysql", "8.4"), "p@ss/w");
    CHECK(base64_decode(str(mysql.at("data", "uri"))) == "mysql://app:p%40ss%2Fw@db1.ns.svc:3306/app");
    CHECK(base64_decode(str(mysql.at("data", "port"))) == "3306");

    CHECK_FALSE(password_from_secret(parse(R"({"data":{}})")).has_value());
    CHECK_FALSE(password_from_secret(parse(R"({"data":{"password":"!!"}})")).has_value());
    CHECK_FALSE(password_from_secret(parse(R"({"data":{"password":""}})")).has_value());
}

TEST_CASE("render_superuser_secret: the operator's account, kept with the data") {
    auto m = db_meta();
    value pg = render_superuser_secret(m, spec_for("postgresql", "16"), "s3cret");
    CHECK(str(pg.at("metadata", "name")) == "db1-superuser");
    CHECK(str(pg.at("metadata", "labels", "app.kubernetes.io/component")) == "superuser");
    CHECK(pg.at("metadata", "ownerReferences") == nullptr); // Retain keeps it with the volumes
    CHECK(base64_decode(str(pg.at("data", "username"))) == "postgres");
    CHECK(base64_decode(str(pg.at("data", "password"))) == "s3cret");
    CHECK(base64_decode(str(pg.at("data", "host"))) == "db1.ns.svc");
    CHECK(pg.at("data", "uri") == nullptr);
    value maria =
        render_superuser_secret(m, spec_for("mariadb", "11.4", R"(,"deletionPolicy":"Delete")"), "x");
    CHECK(base64_decode(str(maria.at("data", "username"))) == "kubecoro");
    check_owned(maria, "db1-superuser", "superuser");
}

TEST_CASE("render_init_configmap: the first-start scripts, the primary's name, the hba_file") {
    value cm = render_init_configmap(db_meta(), spec_for("postgresql", "16"), "db1-2");
    check_owned(cm, "db1-init");
    CHECK(str(cm.at("data", "10-kubecoro-users.sh")) == users_script(engine::postgresql));
    CHECK(str(cm.at("data", "20-kubecoro-restore.sh")) == restore_script(engine::postgresql));
    CHECK(str(cm.at("data", "primary")) == "db1-2");
    CHECK(str(cm.at("data", "initialized")) == "false");
    CHECK(str(render_init_configmap(db_meta(), spec_for("postgresql", "16"), "db1-0", true)
                  .at("data", "initialized")) == "true");
    std::string hba = str(cm.at("data", "pg_hba.conf"));
    // Replication connections are not matched by `all`: they need their own line, with a password.
    CHECK(hba.find("host replication all all scram-sha-256\n") != std::string::npos);
    CHECK(hba.find("host all all all scram-sha-256\n") != std::string::npos);
    CHECK(hba.find("local all all trust\n") != std::string::npos);
    CHECK(hba.find("0.0.0.0") == std::string::npos);
    // Before 14 the image stores md5 verifiers.
    std::string old = str(
        render_init_configmap(db_meta(), spec_for("postgresql", "13"), "db1-0").at("data", "pg_hba.conf"));
    CHECK(old.find("host replication all all md5\n") != std::string::npos);
    value maria = render_init_configmap(db_meta(), spec_for("mariadb", "11.4"), "db1-2", true);
    CHECK(str(maria.at("data", "primary")) == "db1-2");
    CHECK(str(maria.at("data", "initialized")) == "true");
    CHECK(str(maria.at("data", "synchronous")) == "false");
    CHECK(str(maria.at("data", "reseed")) == reseed_lines({}));
    CHECK(str(render_init_configmap(db_meta(), spec_for("mariadb", "11.4"), "db1-2", true, "db1-0 t\n")
                  .at("data", "reseed")) == "db1-0 t\n");
    CHECK(str(maria.at("data", "30-kubecoro-replica.sh")).find("mariadb-dump") != std::string::npos);
    CHECK(maria.at("data", "pg_hba.conf") == nullptr);
    value sync = render_init_configmap(
        db_meta(),
        spec_for("mariadb", "11.4", R"(,"replicas":2,"replication":{"synchronous":true})"),
        "db1-0");
    CHECK(str(sync.at("data", "synchronous")) == "true");
    value mysql = render_init_configmap(db_meta(), spec_for("mysql", "8.4"), "db1-0");
    CHECK(mysql.at("data", "primary") == nullptr);
    CHECK(mysql.at("data", "30-kubecoro-replica.sh") == nullptr);
}

TEST_CASE("instance_script: a replica unless named primary, cloned once, another database never touched") {
    std::string s = instance_script();
    CHECK(s.find("set -euo pipefail") != std::string::npos);
    // PID 1 of its container: it stops at a signal (the image's SIGINT) instead of ignoring it
    // for the whole grace period; the MariaDB init container too.
    CHECK(s.starts_with("trap '"));
    CHECK(s.find("exit 143' TERM INT\n") != std::string::npos);
    CHECK(mariadb_instance_script().starts_with("trap '"));
    CHECK(s.find("if [[ $POD_NAME == \"$primary\" ]]") != std::string::npos);
    CHECK(s.find("touch \"$PGDATA/standby.signal\"") != std::string::npos);
    CHECK(s.find("touch \"$clone/standby.signal\"") != std::string::npos);
    // The password reaches libpq through a file, never an argument.
    CHECK(s.find("export PGPASSFILE=$KUBECORO_RUN/pgpass") != std::string::npos);
    CHECK(s.find("unset PGPASSWORD") != std::string::npos);
    CHECK(s.find("--password") == std::string::npos);
    CHECK(s.find("pg_basebackup -h \"$PRIMARY_HOST\"") != std::string::npos);
    CHECK(s.find("--no-password") != std::string::npos);
    // Nothing is removed but the half-made clone.
    CHECK(s.find("rm -rf \"$clone\"") != std::string::npos);
    CHECK(s.find("rm -rf \"$PGDATA") == std::string::npos);
    CHECK(s.find("system identifier") != std::string::npos);
    // An empty volume on the primary of a Database that holds data is never initialised.
    CHECK(s.find("$(<\"$KUBECORO_CONFIG/initialized\") == true") != std::string::npos);
}

TEST_CASE("scripts: least privilege, no password in an argument") {
    std::string pg = users_script(engine::postgresql);
    CHECK(pg.find("NOSUPERUSER NOCREATEDB NOCREATEROLE") != std::string::npos);
    CHECK(pg.find("CREATE DATABASE app OWNER app") != std::string::npos);
    CHECK(pg.find("<<SQL") != std::string::npos); // the password reaches psql through stdin
    std::string maria = users_script(engine::mariadb);
    CHECK(maria.find("MYSQL_PWD=$MARIADB_ROOT_PASSWORD mariadb --protocol=socket -uroot <<SQL") !=
          std::string::npos);
    CHECK(maria.find("GRANT ALL PRIVILEGES ON *.* TO 'kubecoro'@'%' WITH GRANT OPTION") != std::string::npos);
    CHECK(users_script(engine::mysql).find("MYSQL_PWD=$MYSQL_ROOT_PASSWORD mysql ") != std::string::npos);
    for (engine e : {engine::postgresql, engine::mysql, engine::mariadb}) {
        CAPTURE(to_string(e));
        for (const std::string& script :
             {users_script(e), restore_script(e), backup_script(e), password_script(e)}) {
            CHECK(script.find("-p\"$") == std::string::npos);
            CHECK(script.find("--password") == std::string::npos);
            CHECK(script.find("set -euo pipefail") != std::string::npos);
        }
        CHECK(restore_script(e).find("[[ -n ${KUBECORO_RESTORE_DUMP:-} ]] || exit 0") != std::string::npos);
        CHECK(restore_script(e).find(restore_marker(e)) != std::string::npos);
    }
    CHECK(password_script(engine::postgresql).find("ALTER ROLE app PASSWORD '$pw'") != std::string::npos);
    CHECK(password_script(engine::mariadb).find("ALTER USER 'app'@'%' IDENTIFIED BY") != std::string::npos);
    CHECK(restore_script(engine::postgresql).find("--role=app") != std::string::npos);
}

TEST_CASE("services: headless for the StatefulSet, ClusterIP for clients") {
    auto m = db_meta();
    auto spec = spec_for("postgresql", "16");
    value headless = render_headless_service(m, spec);
    check_owned(headless, "db1-headless");
    CHECK(str(headless.at("spec", "clusterIP")) == "None");
    CHECK(*headless.at("spec", "publishNotReadyAddresses") == value(true));
    CHECK(str(headless.at("spec", "selector", "app.kubernetes.io/name")) == "postgresql");
    CHECK(str(headless.at("spec", "selector", "app.kubernetes.io/component")) == "database");
    CHECK(headless.at("spec", "selector", "app.kubernetes.io/managed-by") == nullptr);

    value client = render_service(m, spec_for("mariadb", "11.4"), "db1-0");
    check_owned(client, "db1");
    // The primary only, by name: other pods are replicas (or, from an earlier version, independent
    // databases).
    CHECK(str(client.at("spec", "selector", "statefulset.kubernetes.io/pod-name")) == "db1-0");
    CHECK(
        str(render_service(m, spec, "db1-2").at("spec", "selector", "statefulset.kubernetes.io/pod-name")) ==
        "db1-2");
    value ro = render_replica_service(m, spec);
    check_owned(ro, "db1-ro");
    CHECK(str(ro.at("spec", "selector", "kubecoro.dev/role")) == "replica");
    CHECK(str(ro.at("spec", "selector", "app.kubernetes.io/instance")) == "db1");
    CHECK(ro.at("spec", "selector", "statefulset.kubernetes.io/pod-name") == nullptr);
    CHECK(ro.at("spec", "publishNotReadyAddresses") == nullptr); // ready: streaming
    CHECK(headless.at("spec", "selector", "statefulset.kubernetes.io/pod-name") == nullptr);
    CHECK(str(client.at("spec", "type")) == "ClusterIP");
    CHECK(client.at("spec", "clusterIP") == nullptr);
    const value* port = by_name(client.at("spec", "ports"), "mariadb");
    REQUIRE(port);
    CHECK(num(port->at("port")) == 3306);
    CHECK(str(port->at("targetPort")) == "mariadb");
    CHECK(str(port->at("protocol")) == "TCP");
}

TEST_CASE("render_statefulset: PostgreSQL") {
    auto m = db_meta();
    value sts =
        render_statefulset(m, spec_for("postgresql", "16", R"(,"storageClassName":"fast","replicas":2)"), {});
    CHECK(str(sts.at("apiVersion")) == "apps/v1");
    CHECK(str(sts.at("kind")) == "StatefulSet");
    check_owned(sts, "db1");
    CHECK(str(sts.at("spec", "serviceName")) == "db1-headless");
    CHECK(num(sts.at("spec", "replicas")) == 2);
    CHECK(*sts.at("spec", "selector", "matchLabels") ==
          json::encode_string_map(selector_labels(m, engine::postgresql)));
    CHECK(str(sts.at("spec", "template", "metadata", "labels", "app.kubernetes.io/component")) == "database");
    CHECK(sts.at("spec", "template", "metadata", "annotations") == nullptr);

    const value& c = database_container(sts);
    CHECK(str(c.at("image")) == "postgres:16");
    const value* port = by_name(c.at("ports"), "postgresql");
    REQUIRE(port);
    CHECK(num(port->at("containerPort")) == 5432);
    CHECK(str(port->at("protocol")) == "TCP");
    CHECK(env_value(c, "POSTGRES_USER") == "postgres");
    check_optional_secret_env(c, "POSTGRES_PASSWORD", "db1-superuser");
    check_optional_secret_env(c, "KUBECORO_APP_PASSWORD", "db1-credentials");
    CHECK(by_name(c.at("env"), "POSTGRES_DB") == nullptr);
    CHECK(by_name(c.at("env"), "KUBECORO_RESTORE_DUMP") == nullptr);
    CHECK(str(by_name(c.at("env"), "PGDATA")->at("value")) == "/var/lib/postgresql/16/docker");
    const value* mount = by_name(c.at("volumeMounts"), "data");
    REQUIRE(mount);
    CHECK(str(mount->at("mountPath")) == "/var/lib/postgresql");
    CHECK(mount->at("subPath") == nullptr);
    CHECK(str(by_name(c.at("volumeMounts"), "init")->at("mountPath")) == "/docker-entrypoint-initdb.d");
    CHECK(str(by_name(c.at("volumeMounts"), "shm")->at("mountPath")) == "/dev/shm");
    CHECK(by_name(c.at("volumeMounts"), "restore") == nullptr);
    CHECK(str(by_name(c.at("volumeMounts"), "topology")->at("mountPath")) == "/etc/kubecoro");
    CHECK(str(by_name(c.at("volumeMounts"), "run")->at("mountPath")) == "/run/kubecoro");
    // The same on every member: the template changes neither with replicas nor with the primary.
    CHECK(*c.at("args") == value(json::array{"-c",
                                             "hba_file=/etc/kubecoro/pg_hba.conf",
                                             "-c",
                                             "primary_conninfo=host=db1.ns.svc port=5432 user=postgres "
                                             "passfile=/run/kubecoro/pgpass application_name=$(POD_NAME)",
                                             "-c",
                                             "wal_log_hints=on",
                                             "-c",
                                             "wal_keep_size=128MB"}));
    CHECK(str(by_name(c.at("env"), "POD_NAME")->at("valueFrom", "fieldRef", "fieldPath")) == "metadata.name");

    // No login: liveness passes while the server answers at all (1: rejecting, as in recovery).
    CHECK(probe_script(c, "livenessProbe") == "pg_isready -q -h 127.0.0.1 -p 5432; test $? -le 1");
    // A replica (standby.signal) is ready while it streams; the primary while it accepts connections.
    CHECK(probe_script(c, "readinessProbe") ==
          "if [ -e \"$PGDATA/standby.signal\" ]; then test \"$(psql -XAt -h 127.0.0.1 -p 5432 -U postgres -d "
          "postgres -c 'SELECT status FROM pg_stat_wal_receiver' 2>/dev/null)\" = streaming; else pg_isready "
          "-q "
          "-h 127.0.0.1 -p 5432; fi");
    CHECK(probe_script(c, "startupProbe") == "pg_isready -q -h 127.0.0.1 -p 5432");
    CHECK(num(c.at("startupProbe", "failureThreshold")) * num(c.at("startupProbe", "periodSeconds")) == 3600);

    CHECK(str(c.at("resources", "requests", "cpu")) == "250m");
    CHECK(str(c.at("resources", "requests", "memory")) == "256Mi");
    CHECK(str(c.at("resources", "limits", "memory")) == "1Gi");
    CHECK(*c.at("securityContext", "allowPrivilegeEscalation") == value(false));
    CHECK(*c.at("securityContext", "capabilities", "drop") == value(json::array{"ALL"}));

    const value* pod = sts.at("spec", "template", "spec");
    CHECK(num(pod->at("terminationGracePeriodSeconds")) == 180);
    CHECK(str(pod->at("securityContext", "fsGroupChangePolicy")) == "OnRootMismatch");
    CHECK(str(by_name(pod->at("volumes"), "shm")->at("emptyDir", "medium")) == "Memory");
    CHECK(str(by_name(pod->at("volumes"), "init")->at("configMap", "name")) == "db1-init");
    CHECK(num(by_name(pod->at("volumes"), "init")->at("configMap", "defaultMode")) == 0555);
    CHECK(test_helpers::size(by_name(pod->at("volumes"), "init")->at("configMap", "items")) == 2);
    const value* topology = by_name(pod->at("volumes"), "topology");
    REQUIRE(topology);
    CHECK(str(topology->at("configMap", "name")) == "db1-init");
    CHECK(str(topology->at("configMap", "items")->if_array()->front().at("key")) == "primary");
    CHECK(str(by_name(pod->at("volumes"), "run")->at("emptyDir", "medium")) == "Memory");

    // The init container decides the role: a replica unless the ConfigMap names this pod.
    REQUIRE(test_helpers::size(pod->at("initContainers")) == 1);
    const value& init = pod->at("initContainers")->if_array()->front();
    CHECK(str(init.at("name")) == "instance");
    CHECK(str(init.at("image")) == "postgres:16");
    CHECK(str(&init.at("command")->if_array()->back()) == instance_script());
    CHECK(env_value(init, "PRIMARY_HOST") == "db1.ns.svc");
    CHECK(env_value(init, "PGUSER") == "postgres");
    CHECK(env_value(init, "PGDATA") == "/var/lib/postgresql/16/docker");
    check_optional_secret_env(init, "PGPASSWORD", "db1-superuser");
    CHECK(by_name(init.at("volumeMounts"), "data") != nullptr);
    CHECK(*init.at("securityContext", "allowPrivilegeEscalation") == value(false));
    CHECK(str(pod->at("affinity", "podAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution")
                  ->if_array()
                  ->front()
                  .at("podAffinityTerm", "topologyKey")) == "kubernetes.io/hostname");
    CHECK(*pod->at("securityContext", "runAsNonRoot") == value(true));
    CHECK(num(pod->at("securityContext", "runAsUser")) == 999);
    CHECK(num(pod->at("securityContext", "runAsGroup")) == 999);
    CHECK(num(pod->at("securityContext", "fsGroup")) == 999);
    CHECK(str(pod->at("securityContext", "seccompProfile", "type")) == "RuntimeDefault");

    const value& vct = sts.at("spec", "volumeClaimTemplates")->if_array()->front();
    CHECK(str(vct.at("metadata", "name")) == "data");
    CHECK(str(vct.at("spec", "resources", "requests", "storage")) == "10Gi");
    CHECK(str(vct.at("spec", "storageClassName")) == "fast");
    CHECK(*vct.at("spec", "accessModes") == value(json::array{"ReadWriteOnce"}));
}

TEST_CASE("render_statefulset: PGDATA follows the PostgreSQL major version") {
    auto m = db_meta();
    auto pgdata = [&](std::string_view version) {
        value sts = render_statefulset(m, spec_for("postgresql", version), {});
        return str(by_name(database_container(sts).at("env"), "PGDATA")->at("value"));
    };
    CHECK(pgdata("18") == "/var/lib/postgresql/18/docker");
    CHECK(pgdata("16") == "/var/lib/postgresql/16/docker");
    CHECK(pgdata("17.2-alpine") == "/var/lib/postgresql/17/docker");
    CHECK(postgres_data_dir("latest") == "/var/lib/postgresql/data"); // a spec naming no major is refused
}

TEST_CASE("render_statefulset: MySQL and MariaDB") {
    auto m = db_meta();
    value mysql = render_statefulset(m, spec_for("mysql", "8.4"), {});
    const value& c = database_container(mysql);
    CHECK(str(c.at("image")) == "mysql:8.4");
    CHECK(env_value(c, "MYSQL_USER") == "app");
    check_optional_secret_env(c, "MYSQL_PASSWORD", "db1-credentials");
    CHECK(env_value(c, "MYSQL_DATABASE") == "app");
    check_optional_secret_env(c, "MYSQL_ROOT_PASSWORD", "db1-superuser");
    CHECK(env_value(c, "MYSQL_ROOT_HOST") == "localhost");
    CHECK(by_name(c.at("env"), "PGDATA") == nullptr);
    const value* mount = by_name(c.at("volumeMounts"), "data");
    REQUIRE(mount);
    CHECK(str(mount->at("mountPath")) == "/var/lib/mysql");
    CHECK(str(mount->at("subPath")) == "mysql");
    CHECK(num(by_name(c.at("ports"), "mysql")->at("containerPort")) == 3306);
    CHECK(probe_script(c, "readinessProbe") ==
          "mysqladmin --no-defaults -h 127.0.0.1 -P 3306 --connect-timeout=3 ping");
    CHECK(by_name(c.at("volumeMounts"), "shm") == nullptr);
    CHECK(str(c.at("resources", "requests", "memory")) == "512Mi");

    value maria =
        render_statefulset(m, spec_for("mariadb", "11.4", R"(,"image":"example.com/mariadb:11.4.2")"), {});
    const value& mc = database_container(maria);
    CHECK(str(mc.at("image")) == "example.com/mariadb:11.4.2");
    CHECK(env_value(mc, "MARIADB_USER") == "app");
    check_optional_secret_env(mc, "MARIADB_PASSWORD", "db1-credentials");
    CHECK(env_value(mc, "MARIADB_DATABASE") == "app");
    check_optional_secret_env(mc, "MARIADB_ROOT_PASSWORD", "db1-superuser");
    CHECK(env_value(mc, "MARIADB_ROOT_HOST") == "localhost");
    CHECK(str(by_name(mc.at("env"), "MARIADB_AUTO_UPGRADE")->at("value")) == "1");
    CHECK(probe_script(mc, "livenessProbe") ==
          "mariadb-admin --no-defaults -h 127.0.0.1 -P 3306 --connect-timeout=3 ping");
    CHECK(str(by_name(mc.at("volumeMounts"), "data")->at("subPath")) == "mysql");
    CHECK(str(maria.at("spec", "selector", "matchLabels", "app.kubernetes.io/name")) == "mariadb");
}

TEST_CASE("render_statefulset: parameters, timeouts and a restore") {
    value pg = render_statefulset(db_meta(),
                                  spec_for("postgresql",
                                           "15",
                                           R"(,"parameters":{"work_mem":"8MB","max_connections":"50"},)"
                                           R"("startupTimeoutSeconds":600,"shutdownTimeoutSeconds":30,)"
                                           R"("bootstrap":{"fromBackup":{"claimName":"old-backup"}})"),
                                  {});
    const value& c = database_container(pg);
    // After what replication needs, so a parameter can override it.
    const json::array& args = *c.at("args")->if_array();
    REQUIRE(args.size() == 12);
    CHECK(json::array(args.end() - 4, args.end()) ==
          json::array{"-c", "max_connections=50", "-c", "work_mem=8MB"});
    CHECK(str(&args[5]) == "wal_log_hints=on");
    CHECK(str(&args[7]) == "wal_keep_size=128MB");
    CHECK(num(c.at("startupProbe", "failureThreshold")) == 60);
    CHECK(num(pg.at("spec", "template", "spec", "terminationGracePeriodSeconds")) == 30);
    CHECK(env_value(c, "KUBECORO_RESTORE_DUMP") == "latest");
    const value* restore = by_name(c.at("volumeMounts"), "restore");
    REQUIRE(restore);
    CHECK(str(restore->at("mountPath")) == "/restore");
    CHECK(*restore->at("readOnly") == value(true));
    const value* claim = by_name(pg.at("spec", "template", "spec", "volumes"), "restore");
    CHECK(str(claim->at("persistentVolumeClaim", "claimName")) == "old-backup");
    // Ready only once the restore finished; liveness does not wait for it.
    CHECK(probe_script(c, "readinessProbe")
              .ends_with(
                  "else test -e \"$PGDATA/kubecoro-restored\" && pg_isready -q -h 127.0.0.1 -p 5432; fi"));
    CHECK(probe_script(c, "livenessProbe").find("kubecoro-restored") == std::string::npos);

    value maria = render_statefulset(
        db_meta(), spec_for("mariadb", "10.11", R"(,"parameters":{"max_connections":"20"})"), {});
    // The init container's option file first, replication's settings, the parameters last (they win).
    const json::array& maria_args = *database_container(maria).at("args")->if_array();
    REQUIRE(maria_args.size() > 2);
    CHECK(maria_args.front() == value("--defaults-extra-file=/run/kubecoro/server.cnf"));
    CHECK(maria_args.back() == value("--max_connections=20"));
    std::string all;
    for (const value& a : maria_args)
        all += str(&a) + " ";
    for (std::string_view want : {"--log_bin=mysql-bin ",
                                  "--log_slave_updates=ON ",
                                  "--gtid_strict_mode=ON ",
                                  "--binlog_format=ROW ",
                                  "--rpl_semi_sync_slave_enabled=ON ",
                                  "--rpl_semi_sync_master_timeout=18446744073709551615 "})
        CHECK_MESSAGE(all.find(want) != std::string::npos, want);
    CHECK(all.find("master_enabled") == std::string::npos); // the primary's side: server.cnf, or SQL
}

TEST_CASE("render_statefulset (mariadb): server_id and read_only from the init container; replica-aware "
          "readiness") {
    value one = render_statefulset(db_meta(), spec_for("mariadb", "10.11"), {});
    value three = render_statefulset(db_meta(), spec_for("mariadb", "10.11", R"(,"replicas":3)"), {});
    // The pod template does not change with the number of replicas (scaling restarts nothing).
    CHECK(*one.at("spec", "template") == *three.at("spec", "template"));
    CHECK(str(three.at("spec", "updateStrategy", "type")) == "OnDelete");
    CHECK(str(one.at("spec", "updateStrategy", "type")) == "RollingUpdate");
    const value* init = three.at("spec", "template", "spec", "initContainers");
    REQUIRE(init);
    const value& instance = (*init->if_array())[0];
    CHECK(str(instance.at("name")) == "instance");
    CHECK(str(&(*instance.at("command")->if_array())[2]).find("server_id=$((ordinal + 1))") !=
          std::string::npos);
    const value& c = database_container(three);
    std::string ready = probe_script(c, "readinessProbe");
    CHECK(ready.starts_with("mariadb-admin --no-defaults -h 127.0.0.1"));
    CHECK(ready.find("SLAVE_RUNNING") != std::string::npos);
    CHECK(ready.find("-umysql") != std::string::npos);
    CHECK(probe_script(c, "livenessProbe").find("SLAVE_RUNNING") == std::string::npos);
    // The seed script and the primary's name reach the pod; no password in the pod spec.
    const value* topology = by_name(three.at("spec", "template", "spec", "volumes"), "topology");
    REQUIRE(topology);
    std::string text = json::write(three);
    CHECK(text.find("30-kubecoro-replica.sh") != std::string::npos);
    CHECK(text.find("\"synchronous\"") != std::string::npos);
    // The replica Service too.
    bool ro = false;
    for (const value& child :
         render_children(db_meta(), spec_for("mariadb", "10.11", R"(,"replicas":2)"), {"pw", "su"}, {}))
        ro = ro || str(child.at("metadata", "name")) == "db1-ro";
    CHECK(ro);
}

TEST_CASE("render_statefulset and jobs: scheduling knobs") {
    auto spec = spec_for("postgresql",
                         "15",
                         R"(,"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"db","operator":"Exists"}],)"
                         R"("priorityClassName":"databases","affinity":{"nodeAffinity":{"x":1}})");
    value sts = render_statefulset(db_meta(), spec, {});
    const value* pod = sts.at("spec", "template", "spec");
    CHECK(str(pod->at("nodeSelector", "disk")) == "ssd");
    CHECK(str(pod->at("tolerations")->if_array()->front().at("key")) == "db");
    CHECK(str(pod->at("priorityClassName")) == "databases");
    CHECK(*pod->at("affinity") == parse(R"({"nodeAffinity":{"x":1}})"));
    value job = render_backup_job(db_meta(), spec, "x");
    const value* job_pod = job.at("spec", "template", "spec");
    CHECK(str(job_pod->at("nodeSelector", "disk")) == "ssd");
    CHECK(str(job_pod->at("priorityClassName")) == "databases");
    CHECK(job_pod->at("affinity") == nullptr);
    CHECK(parse_spec(
              parse(R"({"spec":{"engine":"postgresql","version":"15","storage":"1Gi","tolerations":{}}})"))
              .error()
              .message == "spec.tolerations: must be a list of tolerations");
}

TEST_CASE("render_statefulset: explicit resources replace the defaults") {
    value sts = render_statefulset(
        db_meta(),
        spec_for("mysql", "8.4", R"(,"resources":{"requests":{"cpu":"1"},"limits":{"memory":"4Gi"}})"),
        {});
    const value& c = database_container(sts);
    CHECK(str(c.at("resources", "requests", "cpu")) == "1");
    CHECK(c.at("resources", "requests", "memory") == nullptr);
    CHECK(str(c.at("resources", "limits", "memory")) == "4Gi");
}

TEST_CASE("render_statefulset keeps the existing claim template; expansions patch the claims") {
    auto m = db_meta();
    auto spec = spec_for("postgresql", "16");
    spec.storage = "20Gi";
    observed_state o;
    o.statefulset = observed_statefulset{.engine = "postgresql", .claim_storage = "10Gi"};
    o.data_pvcs = {observed_pvc{.name = "data-db1-0", .requested = "10Gi", .capacity = "10Gi"},
                   observed_pvc{.name = "data-db1-1", .requested = "20Gi", .capacity = "10Gi"}};
    value sts = render_statefulset(m, spec, o);
    const value& vct = sts.at("spec", "volumeClaimTemplates")->if_array()->front();
    CHECK(str(vct.at("spec", "resources", "requests", "storage")) == "10Gi");

    auto patches = render_claim_updates(m, spec, o);
    REQUIRE(patches.size() == 2);
    CHECK(patches[0] == parse(R"({"apiVersion":"v1","kind":"PersistentVolumeClaim",
        "metadata":{"name":"data-db1-0","namespace":"ns","labels":{"kubecoro.dev/postgresql-major":"16"}},
        "spec":{"resources":{"requests":{"storage":"20Gi"}}}})"));
    // Labelled with the major its data belongs to, so a claim kept by Retain is reused only by it.
    CHECK(patches[1] == parse(R"({"apiVersion":"v1","kind":"PersistentVolumeClaim",
        "metadata":{"name":"data-db1-1","namespace":"ns","labels":{"kubecoro.dev/postgresql-major":"16"}}})"));
    spec.storage = "10Gi";
    for (auto& pvc : o.data_pvcs)
        pvc.major = "16";
    CHECK(render_claim_updates(m, spec, o).empty());
}

TEST_CASE("render_pdbs: one replica at a time may go, the primary never (a drain waits for a switchover)") {
    observed_state serving;
    auto pdbs =
        render_pdbs(db_meta(), spec_for("postgresql", "16", R"(,"replicas":3)"), serving, "policy/v1beta1");
    REQUIRE(pdbs.size() == 2);
    for (const value& pdb : pdbs) {
        CHECK(str(pdb.at("apiVersion")) == "policy/v1beta1");
        CHECK(str(pdb.at("kind")) == "PodDisruptionBudget");
        check_owned(pdb, str(pdb.at("metadata", "name")));
        CHECK(pdb.at("spec", "maxUnavailable") == nullptr);
    }
    label_map replicas = selector_labels(db_meta(), engine::postgresql), primary = replicas;
    replicas["kubecoro.dev/role"] = "replica";
    primary["kubecoro.dev/role"] = "primary";
    CHECK(str(pdbs[0].at("metadata", "name")) == "db1");
    CHECK(num(pdbs[0].at("spec", "minAvailable")) == 1);
    CHECK(*pdbs[0].at("spec", "selector", "matchLabels") == json::encode_string_map(replicas));
    CHECK(str(pdbs[1].at("metadata", "name")) == "db1-primary");
    CHECK(num(pdbs[1].at("spec", "minAvailable")) == 1);
    CHECK(*pdbs[1].at("spec", "selector", "matchLabels") == json::encode_string_map(primary));
    // While the primary changes (every member labelled replica): no replica may go.
    observed_state switching;
    switching.switching = true;
    auto held =
        render_pdbs(db_meta(), spec_for("postgresql", "16", R"(,"replicas":3)"), switching, "policy/v1");
    CHECK(num(held[0].at("spec", "minAvailable")) == 2);
}

TEST_CASE("render_backup_pvc: owned only when the volumes go with the Database") {
    auto retain =
        render_backup_pvc(db_meta(), spec_for("postgresql", "16", R"(,"backup":{"storage":"5Gi"})"));
    CHECK(str(retain.at("kind")) == "PersistentVolumeClaim");
    CHECK(str(retain.at("metadata", "name")) == "db1-backup");
    CHECK(str(retain.at("metadata", "labels", "app.kubernetes.io/component")) == "backup");
    CHECK(retain.at("metadata", "ownerReferences") == nullptr);
    CHECK(str(retain.at("spec", "resources", "requests", "storage")) == "5Gi");
    CHECK(retain.at("spec", "storageClassName") == nullptr);

    auto del = render_backup_pvc(
        db_meta(), spec_for("postgresql", "16", R"(,"deletionPolicy":"Delete","storageClassName":"x")"));
    check_owned(del, "db1-backup", "backup");
    CHECK(str(del.at("spec", "resources", "requests", "storage")) == "10Gi");
    CHECK(str(del.at("spec", "storageClassName")) == "x");
}

TEST_CASE("render_cronjob") {
    auto m = db_meta();
    value cj =
        render_cronjob(m,
                       spec_for("postgresql", "16", R"(,"backup":{"schedule":"5 4 * * *","retention":3})"),
                       "batch/v1beta1");
    CHECK(str(cj.at("apiVersion")) == "batch/v1beta1");
    CHECK(str(cj.at("kind")) == "CronJob");
    check_owned(cj, "db1-backup", "backup");
    CHECK(str(cj.at("spec", "schedule")) == "5 4 * * *");
    CHECK(str(cj.at("spec", "concurrencyPolicy")) == "Forbid");
    CHECK(num(cj.at("spec", "successfulJobsHistoryLimit")) == 3);
    CHECK(num(cj.at("spec", "failedJobsHistoryLimit")) == 3);
    CHECK(str(cj.at("spec", "jobTemplate", "metadata", "labels", "app.kubernetes.io/component")) == "backup");
    const value* pod = cj.at("spec", "jobTemplate", "spec", "template", "spec");
    REQUIRE(pod);
    CHECK(str(pod->at("restartPolicy")) == "Never");
    CHECK(num(pod->at("securityContext", "runAsUser")) == 999);
    CHECK(*pod->at("securityContext", "runAsNonRoot") == value(true));
    CHECK(str(by_name(pod->at("volumes"), "backup")->at("persistentVolumeClaim", "claimName")) ==
          "db1-backup");
    const value* c = by_name(pod->at("containers"), "backup");
    REQUIRE(c);
    CHECK(str(c->at("image")) == "postgres:16");
    CHECK(*c->at("securityContext", "capabilities", "drop") == value(json::array{"ALL"}));
    CHECK(str(by_name(c->at("volumeMounts"), "backup")->at("mountPath")) == "/backup");
    CHECK(str(by_name(c->at("env"), "DB_HOST")->at("value")) == "db1");
    CHECK(str(by_name(c->at("env"), "RETENTION")->at("value")) == "3");
    // The superuser's credentials, never the application's.
    check_secret_env(*c, "PGUSER", "username", "db1-superuser");
    check_secret_env(*c, "PGPASSWORD", "password", "db1-superuser");
    REQUIRE(test_helpers::size(c->at("command")) == 3);
    CHECK(str(&c->at("command")->if_array()->at(0)) == "bash");
    std::string script = str(&c->at("command")->if_array()->at(2));
    CHECK(script == backup_script(engine::postgresql));
    const value* job = cj.at("spec", "jobTemplate", "spec");
    CHECK(num(job->at("activeDeadlineSeconds")) > 0);
    CHECK(num(job->at("ttlSecondsAfterFinished")) > 0);
    CHECK(str(c->at("resources", "limits", "memory")) == "1Gi");

    value my = render_cronjob(m, spec_for("mysql", "8.4"), "batch/v1");
    const value* mc =
        by_name(my.at("spec", "jobTemplate", "spec", "template", "spec", "containers"), "backup");
    check_secret_env(*mc, "MYSQL_PWD", "password", "db1-superuser");
    check_secret_env(*mc, "DB_USER", "username", "db1-superuser");
    CHECK(str(mc->at("image")) == "mysql:8.4");
    CHECK(str(my.at("spec", "schedule")) == "0 2 * * *");
}

TEST_CASE("backup_script per engine: a directory per dump, streamed through compression") {
    std::string pg = backup_script(engine::postgresql);
    std::string my = backup_script(engine::mysql);
    std::string maria = backup_script(engine::mariadb);
    // Globals (roles, without passwords) apart from each database's own custom-format dump.
    CHECK(pg.find("pg_dumpall --globals-only --no-role-passwords | gzip >\".partial-$ts/globals.sql.gz\"") !=
          std::string::npos);
    CHECK(pg.find("pg_dump -Fc -f \".partial-$ts/$db.dump\" \"$db\"") != std::string::npos);
    CHECK(my.find("mysqldump ") != std::string::npos);
    CHECK(maria.find("mariadb-dump ") != std::string::npos);
    for (const std::string& s : {my, maria}) {
        CHECK(s.find("NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')") !=
              std::string::npos);
        CHECK(s.find("--single-transaction --routines --events --triggers --databases \"$db\" | gzip") !=
              std::string::npos);
        CHECK(s.find("--all-databases") == std::string::npos);
    }
    for (const std::string& s : {pg, my, maria}) {
        CHECK(s.rfind("set -euo pipefail\n", 0) == 0);
        CHECK(s.find("mv \".partial-$ts\" \"$ts\"") != std::string::npos);
        CHECK(s.find("tail -n +$((RETENTION + 1)) | xargs -r rm -rf --") != std::string::npos);
    }
}

TEST_CASE("render_backup_job and render_credentials_job") {
    auto m = db_meta();
    auto spec = spec_for("postgresql", "16");
    value backup = render_backup_job(m, spec, "before-upgrade");
    CHECK(str(backup.at("kind")) == "Job");
    check_owned(backup, backup_job_name(m, "before-upgrade"), "backup");
    const value* c = by_name(backup.at("spec", "template", "spec", "containers"), "backup");
    REQUIRE(c);
    CHECK(str(&c->at("command")->if_array()->at(2)) == backup_script(engine::postgresql));

    value pw = render_credentials_job(m, spec, "4711");
    check_owned(pw, credentials_job_name(m, "4711"), "credentials");
    CHECK(str(pw.at("metadata", "annotations", "kubecoro.dev/secret-version")) == "4711");
    const value* pc = by_name(pw.at("spec", "template", "spec", "containers"), "credentials");
    REQUIRE(pc);
    check_secret_env(*pc, "PGPASSWORD", "password", "db1-superuser");
    check_secret_env(*pc, "APP_PASSWORD", "password", "db1-credentials");
    CHECK(pc->at("volumeMounts") == nullptr);
    CHECK(num(pw.at("spec", "activeDeadlineSeconds")) == 300);
}

TEST_CASE("render_children: what exists depends on the spec") {
    auto m = db_meta();
    auto kinds = [](const std::vector<value>& objs) {
        std::string out;
        for (const value& o : objs)
            out += str(o.at("kind")) + "/" + str(o.at("metadata", "name")) + " ";
        return out;
    };
    auto one = spec_for("postgresql", "16");
    CHECK(kinds(render_children(m, one, {"pw", "su"}, {})) ==
          "Secret/db1-superuser Secret/db1-credentials ConfigMap/db1-init Service/db1-headless Service/db1 "
          "Service/db1-ro StatefulSet/db1 PersistentVolumeClaim/db1-backup CronJob/db1-backup ");
    auto three = spec_for("mysql", "8.4", R"(,"replicas":3,"backup":{"enabled":false})");
    auto children = render_children(
        m, three, {"pw", "su"}, {}, api_versions{.pdb = "policy/v1beta1", .cronjob = "batch/v1beta1"});
    CHECK(kinds(children) ==
          "Secret/db1-superuser Secret/db1-credentials ConfigMap/db1-init Service/db1-headless "
          "Service/db1 StatefulSet/db1 PodDisruptionBudget/db1 PodDisruptionBudget/db1-primary ");
    CHECK(str(children.back().at("apiVersion")) == "policy/v1beta1");
}

TEST_CASE("role_changes: primary for the named instance, replica for the others, terminating left alone") {
    observed_state seen;
    seen.primary = "db1-1";
    auto pod = [](std::string name, std::string role, bool terminating = false) {
        observed_pod p;
        p.name = std::move(name);
        p.role = std::move(role);
        p.terminating = terminating;
        return p;
    };
    seen.instances = {
        pod("db1-0", "primary"), pod("db1-1", ""), pod("db1-2", "replica"), pod("db1-3", "", true)};
    CHECK(role_changes(seen) == std::vector<role_change>{{"db1-0", "replica"}, {"db1-1", "primary"}});
    seen.instances = {pod("db1-0", "replica"), pod("db1-1", "primary")};
    CHECK(role_changes(seen).empty());
}

TEST_CASE("apply configurations carry no zero values") {
    // Walks every rendered tree: no null, empty string, empty object or empty array anywhere.
    std::function<void(const value&, std::string)> walk = [&](const value& v, std::string path) {
        CAPTURE(path);
        CHECK_FALSE(v.is_null());
        if (const std::string* s = v.if_string())
            CHECK_FALSE(s->empty());
        if (const json::object* o = v.if_object()) {
            CHECK_FALSE(o->empty());
            for (const auto& [k, child] : *o)
                walk(child, path + "." + k);
        }
        if (const json::array* a = v.if_array()) {
            CHECK_FALSE(a->empty());
            for (const value& child : *a)
                walk(child, path + "[]");
        }
    };
    for (std::string_view e : {"postgresql", "mysql", "mariadb"})
        for (const value& child :
             render_children(db_meta(), spec_for(e, "1", R"(,"replicas":2)"), {"pw", "su"}, {}))
            walk(child, str(child.at("kind")));
}

TEST_CASE("render_statefulset: the operator rolls a replicated PostgreSQL itself (OnDelete)") {
    observed_state none;
    auto three = render_statefulset(db_meta(), spec_for("postgresql", "16", R"(,"replicas":3)"), none);
    CHECK(str(three.at("spec", "updateStrategy", "type")) == "OnDelete");
    CHECK(three.at("spec", "updateStrategy", "rollingUpdate") == nullptr);
    auto one = render_statefulset(db_meta(), spec_for("postgresql", "16", ""), none);
    CHECK(str(one.at("spec", "updateStrategy", "type")) == "RollingUpdate");
    // (The partition the server defaults only when updateStrategy is absent: see render.cpp.)
    CHECK(one.at("spec", "updateStrategy", "rollingUpdate", "partition")->int_or(-1) == 0);
    auto maria = render_statefulset(db_meta(), spec_for("mariadb", "10.11", ""), none);
    CHECK(str(maria.at("spec", "updateStrategy", "type")) == "RollingUpdate");
}
