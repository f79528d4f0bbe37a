#include "database/spec.hpp"
#include "helpers.hpp"
#include <kubecoro/core/errc.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace kubecoro;
using namespace kubecoro::controllers::database;
using test_helpers::parse;

namespace {

core::result<database_spec> spec_of(std::string_view spec_json) {
    return parse_spec(
        parse(R"({"metadata":{"name":"db1","namespace":"ns"},"spec":)" + std::string(spec_json) + "}"));
}

// The message of a failed parse (fails the test when parsing succeeded).
std::string error_of(std::string_view spec_json) {
    auto r = spec_of(spec_json);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == core::errc::invalid_argument);
    return r.error().message;
}

bool contains(const std::string& haystack, std::string_view needle) {
    return haystack.find(needle) != std::string::npos;
}

} // namespace

TEST_CASE("parse_spec applies the defaults") {
    auto s = spec_of(R"({"engine":"postgresql","version":"16","storage":"10Gi"})");
    REQUIRE(s.has_value());
    CHECK(s->engine == engine::postgresql);
    CHECK(s->version == "16");
    CHECK(s->image == "postgres:16");
    CHECK(s->storage == "10Gi");
    CHECK_FALSE(s->storage_class_name.has_value());
    CHECK(s->replicas == 1);
    CHECK(s->resources == default_resources(engine::postgresql));
    CHECK(s->resources.requests.at("cpu") == "250m");
    CHECK(s->resources.requests.at("memory") == "256Mi");
    CHECK(s->backup.enabled);
    CHECK(s->backup.schedule == "0 2 * * *");
    CHECK(s->backup.retention == 7);
    CHECK(s->backup.storage == "10Gi"); // the data volume's size
    CHECK(s->deletion == deletion_policy::retain);
    CHECK_FALSE(s->paused);
}

TEST_CASE("parse_spec reads every field") {
    auto s =
        spec_of(R"({"engine":"mariadb","version":"11.4","image":"registry.example.com:5000/db/mariadb:11.4.2",
        "storage":"20Gi","storageClassName":"fast","replicas":3,
        "resources":{"requests":{"cpu":1,"memory":"1Gi"},"limits":{"memory":"2Gi"}},
        "backup":{"enabled":false,"schedule":"*/30 * * * *","retention":30,"storage":"50Gi"},
        "deletionPolicy":"Delete","paused":true})");
    REQUIRE(s.has_value());
    CHECK(s->engine == engine::mariadb);
    CHECK(s->image == "registry.example.com:5000/db/mariadb:11.4.2");
    CHECK(s->storage_class_name == "fast");
    CHECK(s->replicas == 3);
    CHECK(s->resources.requests.at("cpu") == "1"); // integers are quantities too
    CHECK(s->resources.requests.at("memory") == "1Gi");
    CHECK(s->resources.limits.at("memory") == "2Gi");
    CHECK_FALSE(s->backup.enabled);
    CHECK(s->backup.schedule == "*/30 * * * *");
    CHECK(s->backup.retention == 30);
    CHECK(s->backup.storage == "50Gi");
    CHECK(s->deletion == deletion_policy::delete_volumes);
    CHECK(s->paused);
}

TEST_CASE("parse_spec: official images and per-engine default resources") {
    auto mysql = spec_of(R"({"engine":"mysql","version":"8.4","storage":"1Gi"})");
    REQUIRE(mysql.has_value());
    CHECK(mysql->image == "mysql:8.4");
    CHECK(mysql->resources.requests.at("memory") == "512Mi");
    CHECK(mysql->resources.limits.at("memory") == "1Gi");
    auto maria = spec_of(R"({"engine":"mariadb","version":"11.4","storage":"1Gi"})");
    REQUIRE(maria.has_value());
    CHECK(maria->image == "mariadb:11.4");
    CHECK(maria->resources.requests.at("memory") == "512Mi");
    // Only limits given: no defaults mixed in.
    auto only_limits =
        spec_of(R"({"engine":"mysql","version":"8.4","storage":"1Gi","resources":{"limits":{"cpu":"2"}}})");
    REQUIRE(only_limits.has_value());
    CHECK(only_limits->resources.requests.empty());
    CHECK(only_limits->resources.limits.size() == 1);
}

TEST_CASE("parse_spec: required fields") {
    auto r = parse_spec(parse(R"({"metadata":{"name":"db1"}})"));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message == "spec: required");
    std::string e = error_of("{}");
    CHECK(contains(e, "spec.engine: required"));
    CHECK(contains(e, "spec.version: required"));
    CHECK(contains(e, "spec.storage: required"));
}

TEST_CASE("parse_spec: every validation error names its field") {
    const std::string base = R"("engine":"postgresql","version":"16","storage":"10Gi")";
    auto with = [&](std::string_view extra) { return error_of("{" + base + "," + std::string(extra) + "}"); };

    CHECK(error_of(R"({"engine":"oracle","version":"16","storage":"1Gi"})") ==
          "spec.engine: must be postgresql, mysql or mariadb (got \"oracle\")");
    CHECK(error_of(R"({"engine":5,"version":"16","storage":"1Gi"})") == "spec.engine: must be a string");
    CHECK(error_of(R"({"engine":"mysql","version":"","storage":"1Gi"})") ==
          "spec.version: \"\" is not a valid image tag");
    CHECK(error_of(R"({"engine":"mysql","version":"8 4","storage":"1Gi"})") ==
          "spec.version: \"8 4\" is not a valid image tag");
    CHECK(error_of(R"({"engine":"mysql","version":"-8","storage":"1Gi"})") ==
          "spec.version: \"-8\" is not a valid image tag");
    CHECK(error_of(R"({"engine":"mysql","version":")" + std::string(129, 'a') + R"(","storage":"1Gi"})") ==
          "spec.version: \"" + std::string(129, 'a') + "\" is not a valid image tag");
    CHECK(error_of(R"({"engine":"mysql","version":"8.4","storage":"10GB"})") ==
          "spec.storage: \"10GB\" is not a quantity (for example 10Gi)");
    CHECK(error_of(R"({"engine":"mysql","version":"8.4","storage":"0"})") ==
          "spec.storage: must be positive (got \"0\")");
    CHECK(error_of(R"({"engine":"mysql","version":"8.4","storage":"-1Gi"})") ==
          "spec.storage: must be positive (got \"-1Gi\")");

    CHECK(with(R"("image":"")") == "spec.image: must not be empty when set");
    CHECK(with(R"("image":"Postgres:16")") == "spec.image: \"Postgres:16\" has an invalid repository name "
                                              "(lowercase letters, digits and separators)");
    CHECK(with(R"("image":"postgres:16 ")") == "spec.image: \"postgres:16 \" has an invalid tag");
    CHECK(with(R"("image":"postgres@sha256:abc")") ==
          "spec.image: \"postgres@sha256:abc\" has an invalid digest");
    CHECK(with(R"("image":"bad_host.example.com/postgres")") ==
          "spec.image: \"bad_host.example.com/postgres\" has an invalid registry host");
    CHECK(with(R"("image":"library//postgres")") ==
          "spec.image: \"library//postgres\" has an invalid repository name (lowercase letters, digits and "
          "separators)");
    CHECK(with(R"("image":"a..b")") ==
          "spec.image: \"a..b\" has an invalid repository name (lowercase letters, digits and separators)");

    CHECK(with(R"("replicas":0)") == "spec.replicas: must be between 1 and 5 (got 0)");
    CHECK(with(R"("replicas":6)") == "spec.replicas: must be between 1 and 5 (got 6)");
    CHECK(with(R"("replicas":1.5)") == "spec.replicas: must be an integer");
    CHECK(with(R"("replicas":"2")") == "spec.replicas: must be an integer");
    CHECK(with(R"("paused":"yes")") == "spec.paused: must be true or false");
    CHECK(with(R"("deletionPolicy":"Orphan")") ==
          "spec.deletionPolicy: must be Retain, Delete or DoNotTerminate (got \"Orphan\")");
    CHECK(with(R"("storageClassName":7)") == "spec.storageClassName: must be a string");
    for (const char* storage_class : {"a..b", "a.-b", "-fast", "fast-", "Fast", "fast_ssd", "fast.", ""}) {
        CAPTURE(storage_class);
        CHECK(with(R"("storageClassName":")" + std::string(storage_class) + "\"") ==
              "spec.storageClassName: \"" + std::string(storage_class) +
                  "\" is not a StorageClass name (lowercase DNS subdomain, at most 253 characters)");
    }
    CHECK(
        contains(with(R"("storageClassName":")" + std::string(254, 'a') + "\""), "spec.storageClassName: "));
    CHECK(spec_of("{" + base + R"(,"storageClassName":"fast.ssd-1.example.com"})").has_value());
    CHECK(with(R"("storage":"9Ei")") ==
          "spec.storage: \"9Ei\" is larger than Kubernetes can represent (about 8Ei)");
    CHECK(spec_of(R"({"engine":"mysql","version":"8.4","storage":"7Ei"})").has_value());
    CHECK(with(R"("backup":{"storage":"1e20"})") ==
          "spec.backup.storage: \"1e20\" is larger than Kubernetes can represent (about 8Ei)");
    CHECK(with(R"("resources":{"requests":{"cpu":"-1"}})") ==
          "spec.resources.requests.cpu: must not be negative (got \"-1\")");
    CHECK(with(R"("resources":{"limits":{"memory":"100Ei"}})") ==
          "spec.resources.limits.memory: \"100Ei\" is larger than Kubernetes can represent (about 8Ei)");
    CHECK(with(R"("resources":{"requests":{"gpu":"1"}})") ==
          "spec.resources.requests.gpu: not a resource kubecoro sets (cpu, memory or ephemeral-storage)");
    CHECK(with(R"("resources":{"limits":{"CPU":"1"}})") ==
          "spec.resources.limits.CPU: not a resource kubecoro sets (cpu, memory or ephemeral-storage)");

    CHECK(with(R"("resources":{"requests":{"memory":"lots"}})") ==
          "spec.resources.requests.memory: \"lots\" is not a quantity");
    CHECK(with(R"("resources":{"limits":{"cpu":true}})") == "spec.resources.limits.cpu: must be a quantity");
    CHECK(with(R"("resources":{"requests":{"memory":"2Gi"},"limits":{"memory":"1Gi"}})") ==
          "spec.resources.requests.memory: must not exceed the limit (2Gi > 1Gi)");
    CHECK(with(R"("resources":[])") == "spec.resources: must be an object with requests and limits");

    CHECK(with(R"("backup":{"retention":0})") == "spec.backup.retention: must be between 1 and 365 (got 0)");
    CHECK(with(R"("backup":{"retention":366})") ==
          "spec.backup.retention: must be between 1 and 365 (got 366)");
    CHECK(with(R"("backup":{"storage":"5 Gi"})") ==
          "spec.backup.storage: \"5 Gi\" is not a quantity (for example 10Gi)");
    CHECK(with(R"("backup":{"enabled":1})") == "spec.backup.enabled: must be true or false");
    CHECK(contains(with(R"("backup":{"schedule":"61 * * * *"})"),
                   "spec.backup.schedule: \"61 * * * *\" is not a cron schedule: "));
    CHECK(contains(with(R"("backup":{"schedule":"* * *"})"), "spec.backup.schedule: "));
    CHECK(with(R"("backup":"daily")") == "spec.backup: must be an object");
}

TEST_CASE("validate_name: the children's names must be valid") {
    auto spec = spec_of(R"({"engine":"postgresql","version":"16","storage":"1Gi"})");
    REQUIRE(spec.has_value());
    auto no_backup = *spec;
    no_backup.backup.enabled = false;
    CHECK(validate_name("db1", *spec).has_value());
    CHECK(validate_name("a-b-c", *spec).has_value());
    CHECK(validate_name(std::string(45, 'a'), *spec).has_value());
    CHECK(validate_name(std::string(52, 'a'), no_backup).has_value());
    for (const char* bad : {"1db", "db.one", "db-", "-db", "Db", ""}) {
        CAPTURE(bad);
        auto r = validate_name(bad, *spec);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == core::errc::invalid_argument);
        CHECK(r.error().message ==
              "metadata.name: \"" + std::string(bad) +
                  "\" cannot name the Services: it must start with a lowercase letter and "
                  "hold only lowercase letters, digits and dashes (a DNS-1035 label)");
    }
    auto backup = validate_name(std::string(46, 'a'), *spec);
    REQUIRE_FALSE(backup.has_value());
    CHECK(contains(backup.error().message,
                   "is 46 characters long; with backups enabled at most 45 fit the CronJob"));
    auto sts = validate_name(std::string(53, 'a'), no_backup);
    REQUIRE_FALSE(sts.has_value());
    CHECK(
        contains(sts.error().message, "is 53 characters long; at most 52 fit the StatefulSet's pod labels"));
}

TEST_CASE("parse_spec reports all problems at once") {
    std::string e = error_of(R"({"engine":"postgresql","version":"16","storage":"x","replicas":9})");
    CHECK(e == "spec.storage: \"x\" is not a quantity (for example 10Gi); spec.replicas: must be between 1 "
               "and 5 (got 9)");
}

TEST_CASE("parse_spec accepts valid image references") {
    for (const char* image :
         {"postgres",
          "postgres:16.4-bookworm",
          "library/postgres:16",
          "docker.io/library/postgres:16",
          "localhost:5000/pg",
          "localhost/pg:16",
          "ghcr.io/org/my-db__x.y:v1",
          "registry.example.com/pg@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
          "pg:16@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}) {
        CAPTURE(image);
        auto s = spec_of(R"({"engine":"postgresql","version":"16","storage":"1Gi","image":")" +
                         std::string(image) + "\"}");
        CHECK(s.has_value());
    }
}

TEST_CASE("postgres_data_dir follows the major version") {
    CHECK(postgres_data_dir("18") == "/var/lib/postgresql/18/docker");
    CHECK(postgres_data_dir("16") == "/var/lib/postgresql/16/docker");
    CHECK(postgres_data_dir("16.4-alpine") == "/var/lib/postgresql/16/docker");
    CHECK(postgres_data_dir("latest") == "/var/lib/postgresql/data");
    CHECK(postgres_data_dir("alpine") == "/var/lib/postgresql/data");
}

TEST_CASE("compare_quantities") {
    CHECK(compare_quantities("1Gi", "1024Mi") == 0);
    CHECK(compare_quantities("10Gi", "10G") == 1);
    CHECK(compare_quantities("500Mi", "1Gi") == -1);
    CHECK_FALSE(compare_quantities("", "1Gi").has_value());
}

namespace {

database_spec valid_spec(std::string_view engine_name = "postgresql", std::string_view storage = "10Gi") {
    auto s = spec_of(R"({"engine":")" + std::string(engine_name) + R"(","version":"16","storage":")" +
                     std::string(storage) + "\"}");
    REQUIRE(s.has_value());
    return *s;
}

observed_statefulset sts_with(std::string engine_name, std::string claim) {
    observed_statefulset sts;
    sts.engine = std::move(engine_name);
    sts.claim_storage = std::move(claim);
    return sts;
}

} // namespace

TEST_CASE("validate_change accepts a first creation and unchanged or growing storage") {
    CHECK(validate_change(valid_spec(), observed_state{}).has_value());
    observed_state o;
    o.statefulset = sts_with("postgresql", "10Gi");
    o.statefulset->pgdata = "/var/lib/postgresql/16/docker";
    CHECK(validate_change(valid_spec(), o).has_value());
    CHECK(validate_change(valid_spec("postgresql", "20Gi"), o).has_value());
}

TEST_CASE("validate_change refuses an engine change") {
    observed_state o;
    o.statefulset = sts_with("mysql", "10Gi");
    auto r = validate_change(valid_spec("postgresql"), o);
    REQUIRE_FALSE(r.has_value());
    CHECK(
        r.error().message ==
        "spec.engine: cannot change from mysql to postgresql (the engine is immutable; create a new Database "
        "and restore a dump)");
}

TEST_CASE("validate_change refuses to shrink storage") {
    observed_state o;
    o.statefulset = sts_with("postgresql", "10Gi");
    auto r = validate_change(valid_spec("postgresql", "5Gi"), o);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message == "spec.storage: cannot shrink the volume from 10Gi to 5Gi");

    // A claim already expanded beyond the template counts too.
    o.data_pvcs.push_back(observed_pvc{.name = "data-db1-0", .requested = "20Gi", .capacity = "20Gi"});
    r = validate_change(valid_spec("postgresql", "15Gi"), o);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message == "spec.storage: cannot shrink the volume from 20Gi to 15Gi");
    CHECK(validate_change(valid_spec("postgresql", "20Gi"), o).has_value());

    observed_state backup;
    backup.backup_pvc = observed_pvc{.name = "db1-backup", .requested = "50Gi"};
    r = validate_change(valid_spec("postgresql", "10Gi"), backup);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message == "spec.backup.storage: cannot shrink the volume from 50Gi to 10Gi");
}

TEST_CASE("validate_change refuses a storage class change and a PostgreSQL major upgrade") {
    observed_state o;
    o.statefulset = sts_with("postgresql", "10Gi");
    o.statefulset->claim_storage_class = "slow";
    auto r = validate_change(valid_spec(), o);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message ==
          "spec.storageClassName: cannot change from \"slow\" to \"\" (volumes keep their class)");

    observed_state pg;
    pg.statefulset = sts_with("postgresql", "10Gi");
    pg.statefulset->pgdata = "/var/lib/postgresql/15/docker";
    r = validate_change(valid_spec(), pg);
    REQUIRE_FALSE(r.has_value());
    CHECK(contains(r.error().message,
                   "spec.version: cannot move to \"16\": the data in /var/lib/postgresql/15/docker"));
}

TEST_CASE("observe_* decode what the controller reads back") {
    auto sts = observe_statefulset(parse(R"({
        "metadata":{"name":"db1","generation":3,"labels":{"app.kubernetes.io/name":"postgresql"}},
        "spec":{"replicas":2,"template":{"spec":{"containers":[
            {"name":"sidecar","image":"x"},
            {"name":"database","image":"postgres:16","env":[{"name":"PGDATA","value":"/var/lib/postgresql/16/docker"}]}]}},
          "volumeClaimTemplates":[{"metadata":{"name":"data"},"spec":{"storageClassName":"fast",
            "resources":{"requests":{"storage":"10Gi"}}}}]},
        "status":{"observedGeneration":2,"replicas":2,"readyReplicas":1,"updatedReplicas":1,
                  "currentRevision":"db1-a","updateRevision":"db1-b"}})"));
    CHECK(sts.engine == "postgresql");
    CHECK(sts.image == "postgres:16");
    CHECK(sts.pgdata == "/var/lib/postgresql/16/docker");
    CHECK(sts.claim_storage == "10Gi");
    CHECK(sts.claim_storage_class == "fast");
    CHECK(sts.generation == 3);
    CHECK(sts.observed_generation == 2);
    CHECK(sts.spec_replicas == 2);
    CHECK(sts.replicas == 2);
    CHECK(sts.ready_replicas == 1);
    CHECK(sts.updated_replicas == 1);
    CHECK(sts.current_revision == "db1-a");
    CHECK(sts.update_revision == "db1-b");

    auto pvc = observe_pvc(parse(R"({"metadata":{"name":"data-db1-0"},
        "spec":{"resources":{"requests":{"storage":"20Gi"}}},
        "status":{"capacity":{"storage":"10Gi"},"conditions":[{"type":"FileSystemResizePending","status":"True"}]}})"));
    CHECK(pvc.name == "data-db1-0");
    CHECK(pvc.requested == "20Gi");
    CHECK(pvc.capacity == "10Gi");
    CHECK(pvc.resize_pending);
    CHECK_FALSE(observe_pvc(parse(R"({"metadata":{"name":"p"}})")).resize_pending);

    auto cj = observe_cronjob(parse(R"({"status":{"lastScheduleTime":"2024-01-02T02:00:00Z"}})"));
    CHECK(cj.last_schedule_time == "2024-01-02T02:00:00Z");
    CHECK(cj.last_successful_time.empty());

    auto ok =
        observe_job(parse(R"({"metadata":{"name":"j1"},"status":{"completionTime":"2024-01-02T02:01:00Z",
        "conditions":[{"type":"Complete","status":"True"}]}})"));
    CHECK(ok.succeeded);
    CHECK_FALSE(ok.failed);
    CHECK(ok.finished_time == "2024-01-02T02:01:00Z");
    auto bad = observe_job(parse(R"({"metadata":{"name":"j2"},"status":{
        "conditions":[{"type":"Failed","status":"True","lastTransitionTime":"2024-01-03T02:05:00Z"}]}})"));
    CHECK(bad.failed);
    CHECK(bad.finished_time == "2024-01-03T02:05:00Z");
    auto running = observe_job(parse(R"({"metadata":{"name":"j3"},"status":{"active":1}})"));
    CHECK_FALSE(running.succeeded);
    CHECK_FALSE(running.failed);
}

TEST_CASE("validate_topology: PostgreSQL and MariaDB replicate; MySQL runs one instance") {
    auto one = spec_of(R"({"engine":"postgresql","version":"16","storage":"1Gi"})");
    REQUIRE(one.has_value());
    CHECK(validate_topology(*one).has_value());
    auto five = spec_of(R"({"engine":"postgresql","version":"16","storage":"1Gi","replicas":5})");
    REQUIRE(five.has_value());
    CHECK(validate_topology(*five).has_value());
    auto eleven = spec_of(R"({"engine":"postgresql","version":"11","storage":"1Gi","replicas":2})");
    REQUIRE(eleven.has_value());
    REQUIRE_FALSE(validate_topology(*eleven).has_value());
    CHECK(contains(validate_topology(*eleven).error().message, "needs PostgreSQL 12 or newer"));
    auto maria = spec_of(R"({"engine":"mariadb","version":"10.11","storage":"1Gi","replicas":3})");
    REQUIRE(maria.has_value());
    CHECK(validate_topology(*maria).has_value());
    auto three = spec_of(R"({"engine":"mysql","version":"8.4","storage":"1Gi","replicas":3})");
    REQUIRE(three.has_value());
    auto r = validate_topology(*three);
    REQUIRE_FALSE(r.has_value());
    CHECK(contains(r.error().message, "spec.replicas: 3 mysql instances would be independent databases"));
    CHECK(contains(r.error().message, "postgresql and mariadb; set replicas: 1"));
}

TEST_CASE("spec.replication.synchronous: read, needs a replica, and owns synchronous_standby_names") {
    auto sync = spec_of(
        R"({"engine":"postgresql","version":"16","storage":"1Gi","replicas":2,"replication":{"synchronous":true}})");
    REQUIRE(sync.has_value());
    CHECK(sync->synchronous);
    CHECK(validate_topology(*sync).has_value());
    CHECK_FALSE(spec_of(R"({"engine":"postgresql","version":"16","storage":"1Gi"})")->synchronous);
    auto alone = spec_of(
        R"({"engine":"postgresql","version":"16","storage":"1Gi","replication":{"synchronous":true}})");
    REQUIRE(alone.has_value());
    REQUIRE_FALSE(validate_topology(*alone).has_value());
    CHECK(
        contains(validate_topology(*alone).error().message,
                 "spec.replication.synchronous: a commit waits until a replica has it, and with replicas: 1 "
                 "there is none"));
    CHECK(contains(
        error_of(
            R"({"engine":"postgresql","version":"16","storage":"1Gi","replication":{"synchronous":"yes"}})"),
        "spec.replication.synchronous"));
    CHECK(contains(error_of(R"({"engine":"postgresql","version":"16","storage":"1Gi","replication":true})"),
                   "spec.replication: must be an object"));
    CHECK(contains(error_of(R"({"engine":"postgresql","version":"16","storage":"1Gi",)"
                            R"("parameters":{"synchronous_standby_names":"*"}})"),
                   "spec.parameters.synchronous_standby_names: is set by kubecoro"));
}

TEST_CASE("parse_spec: a PostgreSQL version names its major") {
    CHECK(contains(error_of(R"({"engine":"postgresql","version":"latest","storage":"1Gi"})"),
                   "spec.version: \"latest\" names no PostgreSQL major version"));
    CHECK(contains(error_of(R"({"engine":"postgresql","version":"alpine","storage":"1Gi"})"),
                   "names no PostgreSQL major version"));
    CHECK(spec_of(R"({"engine":"postgresql","version":"16.4-bookworm","storage":"1Gi"})").has_value());
    CHECK(spec_of(R"({"engine":"mariadb","version":"lts","storage":"1Gi"})").has_value());
}

TEST_CASE("parse_spec: parameters, timeouts, bootstrap") {
    const std::string pg = R"("engine":"postgresql","version":"16","storage":"1Gi")";
    const std::string maria = R"("engine":"mariadb","version":"10.11","storage":"1Gi")";
    auto s = spec_of("{" + pg + R"(,"parameters":{"work_mem":"8MB","pg_stat_statements.max":"1000"},)" +
                     R"("startupTimeoutSeconds":120,"shutdownTimeoutSeconds":20,)" +
                     R"("bootstrap":{"fromBackup":{"claimName":"old-backup","dump":"20250101T020000Z"}}})");
    REQUIRE_MESSAGE(s.has_value(), s.error().message);
    CHECK(s->parameters ==
          std::map<std::string, std::string>{{"pg_stat_statements.max", "1000"}, {"work_mem", "8MB"}});
    CHECK(s->startup_timeout_seconds == 120);
    CHECK(s->shutdown_timeout_seconds == 20);
    REQUIRE(s->bootstrap.has_value());
    CHECK(s->bootstrap->claim_name == "old-backup");
    CHECK(s->bootstrap->dump == "20250101T020000Z");
    auto latest = spec_of("{" + maria + R"(,"bootstrap":{"fromBackup":{"claimName":"m-backup"}}})");
    REQUIRE(latest.has_value());
    CHECK(latest->bootstrap->dump == "latest");
    auto defaults = spec_of("{" + maria + "}");
    CHECK(defaults->startup_timeout_seconds == 3600);
    CHECK(defaults->shutdown_timeout_seconds == 180);
    CHECK_FALSE(defaults->bootstrap.has_value());

    // Settings the operator owns are refused, in either my.cnf spelling.
    CHECK(error_of("{" + pg + R"(,"parameters":{"port":"5433"}})") ==
          "spec.parameters.port: is set by kubecoro and cannot be overridden");
    CHECK(error_of("{" + pg + R"(,"parameters":{"listen_addresses":"*"}})") ==
          "spec.parameters.listen_addresses: is set by kubecoro and cannot be overridden");
    CHECK(error_of("{" + maria + R"(,"parameters":{"bind-address":"0.0.0.0"}})") ==
          "spec.parameters.bind-address: is set by kubecoro and cannot be overridden");
    CHECK(error_of("{" + maria + R"(,"parameters":{"skip_networking":"1"}})") ==
          "spec.parameters.skip_networking: is set by kubecoro and cannot be overridden");
    CHECK(error_of("{" + pg + R"(,"parameters":{"work_mem":8}})") ==
          "spec.parameters.work_mem: must be a string (quote numbers and booleans)");
    CHECK(contains(error_of("{" + pg + R"(,"parameters":{"Work Mem":"8"}})"), "is not a setting name"));
    CHECK(contains(error_of("{" + maria + R"(,"parameters":{"a.b":"8"}})"), "is not a setting name"));
    CHECK(error_of("{" + pg + R"(,"parameters":{"work_mem":"8\nMB"}})") ==
          "spec.parameters.work_mem: must be one line");
    CHECK(error_of("{" + pg + R"(,"parameters":["x"]})") ==
          "spec.parameters: must be a map of setting names to string values");
    CHECK(error_of("{" + pg + R"(,"startupTimeoutSeconds":5})") ==
          "spec.startupTimeoutSeconds: must be between 60 and 86400 (got 5)");
    CHECK(error_of("{" + pg + R"(,"bootstrap":{}})") ==
          "spec.bootstrap.fromBackup: required when spec.bootstrap is set (claimName and dump)");
    CHECK(
        contains(error_of("{" + pg + R"(,"bootstrap":{"fromBackup":{"claimName":"x","dump":"yesterday"}}})"),
                 "spec.bootstrap.fromBackup.dump: \"yesterday\" is neither \"latest\" nor a dump's name"));
    CHECK(contains(error_of("{" + pg + R"(,"bootstrap":{"fromBackup":{"dump":"latest"}}})"),
                   "spec.bootstrap.fromBackup.claimName: required"));
}

TEST_CASE("validate_change: a claim kept by Retain serves only its engine and PostgreSQL major") {
    auto pg16 = spec_of(R"({"engine":"postgresql","version":"16","storage":"1Gi"})");
    REQUIRE(pg16.has_value());
    observed_state kept;
    kept.data_pvcs = {
        observed_pvc{.name = "data-db1-0", .requested = "1Gi", .engine = "postgresql", .major = "15"}};
    auto r = validate_change(*pg16, kept);
    REQUIRE_FALSE(r.has_value());
    CHECK(contains(r.error().message, "spec.version: claim data-db1-0 holds PostgreSQL 15 data"));
    kept.data_pvcs[0].major = "16";
    CHECK(validate_change(*pg16, kept).has_value());
    kept.data_pvcs[0].major.clear(); // claims made before the label: the data directory's path decides
    CHECK(validate_change(*pg16, kept).has_value());

    kept.data_pvcs[0].engine = "mariadb";
    r = validate_change(*pg16, kept);
    REQUIRE_FALSE(r.has_value());
    CHECK(contains(r.error().message, "spec.engine: claim data-db1-0 holds mariadb data"));
}

TEST_CASE("observe_pod: revision, readiness, the server container's wait") {
    auto pod =
        observe_pod(parse(R"({"metadata":{"name":"db1-0","labels":{"controller-revision-hash":"db1-abc"}},
        "spec":{"nodeName":"n1"},
        "status":{"conditions":[{"type":"Ready","status":"False"}],"containerStatuses":[
          {"name":"other","state":{"waiting":{"reason":"CrashLoopBackOff"}}},
          {"name":"database","state":{"waiting":{"reason":"ImagePullBackOff","message":"no such tag"}}}]}})"));
    CHECK(pod.name == "db1-0");
    CHECK(pod.revision == "db1-abc");
    CHECK_FALSE(pod.ready);
    CHECK(pod.scheduled);
    CHECK_FALSE(pod.terminating);
    CHECK(pod.waiting_reason == "ImagePullBackOff");
    CHECK(pod.waiting_message == "no such tag");
    CHECK(pod.stuck());
    pod.waiting_reason = "ContainerCreating";
    CHECK_FALSE(pod.stuck());
    auto pending = observe_pod(
        parse(R"({"metadata":{"name":"db1-0","deletionTimestamp":"2024-01-01T00:00:00Z"},"spec":{}})"));
    CHECK_FALSE(pending.scheduled);
    CHECK(pending.terminating);
    CHECK(pending.waiting_reason.empty());
    CHECK_FALSE(pending.server_stopped); // the kubelet said nothing: not known stopped
    // Held back by its init container: that wait is the pod's.
    auto init = observe_pod(parse(R"({"metadata":{"name":"db1-1"},"status":{
        "initContainerStatuses":[{"name":"instance","state":{"waiting":{"reason":"ImagePullBackOff","message":"no such tag"}}}],
        "containerStatuses":[{"name":"database","state":{"waiting":{"reason":"PodInitializing"}}}]}})"));
    CHECK(init.waiting_reason == "ImagePullBackOff");
    CHECK(init.waiting_message == "init container instance: no such tag");
    CHECK(init.stuck());
    CHECK_FALSE(init.running); // nothing of it runs yet
    CHECK_FALSE(pod.running);
    // Running: its init container (waiting for a primary), or its server.
    auto initializing = observe_pod(parse(R"({"metadata":{"name":"db1-1"},"status":{
        "initContainerStatuses":[{"name":"instance","state":{"running":{"startedAt":"2024-01-01T00:00:00Z"}}}],
        "containerStatuses":[{"name":"database","state":{"waiting":{"reason":"PodInitializing"}}}]}})"));
    CHECK(initializing.running);
    auto serving = observe_pod(parse(R"({"metadata":{"name":"db1-1"},"status":{
        "initContainerStatuses":[{"name":"instance","state":{"terminated":{"exitCode":0}}}],
        "containerStatuses":[{"name":"database","state":{"running":{"startedAt":"2024-01-01T00:00:00Z"}}}]}})"));
    CHECK(serving.running);
}

TEST_CASE("observe_pod: identity, role, address, and a server the kubelet reports stopped") {
    auto state = [](std::string_view deletion, std::string_view server_state) {
        return observe_pod(
            parse(R"({"metadata":{"name":"db1-1","uid":"u1","labels":{"kubecoro.dev/role":"replica"})" +
                  std::string(deletion) + R"(},"status":{"podIP":"10.244.0.9","containerStatuses":[
            {"name":"database","state":{)" +
                  std::string(server_state) + "}}]}}"));
    };
    auto running = state("", R"("running":{"startedAt":"2024-01-01T00:00:00Z"})");
    CHECK(running.uid == "u1");
    CHECK(running.role == "replica");
    CHECK(running.ip == "10.244.0.9");
    CHECK_FALSE(running.server_stopped);
    // Deletion asked at 00:00:58 (deletionTimestamp minus the grace period).
    const std::string deleted =
        R"(,"deletionTimestamp":"2024-01-01T00:01:00Z","deletionGracePeriodSeconds":2)";
    CHECK_FALSE(state(deleted, R"("running":{})").server_stopped);
    CHECK(state(deleted, R"("terminated":{"exitCode":137,"finishedAt":"2024-01-01T00:01:00Z"})")
              .server_stopped);
    CHECK(
        state(deleted, R"("terminated":{"exitCode":0,"finishedAt":"2024-01-01T00:00:58Z"})").server_stopped);
    // A crash before the deletion: a kubelet that never saw it may restart the server.
    CHECK_FALSE(
        state(deleted, R"("terminated":{"exitCode":1,"finishedAt":"2024-01-01T00:00:30Z"})").server_stopped);
    CHECK_FALSE(state(deleted, R"("waiting":{"reason":"CrashLoopBackOff"})").server_stopped);
    CHECK_FALSE(
        state("", R"("terminated":{"exitCode":0,"finishedAt":"2024-01-01T00:01:00Z"})").server_stopped);
}
