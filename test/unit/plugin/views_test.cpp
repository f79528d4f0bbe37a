#include "views.hpp"
#include <kubecoro/json/json.hpp>

#include <doctest/doctest.h>

using namespace kubecoro;
using namespace kubecoro::plugin;

namespace {

json::value parse(const std::string& text) {
    auto v = json::parse(text);
    REQUIRE(v);
    return std::move(*v);
}

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

const char* replicated = R"({
  "apiVersion": "kubecoro.dev/v1alpha1", "kind": "Database",
  "metadata": {"name": "pg", "namespace": "shop"},
  "spec": {"engine": "postgresql", "version": "15", "storage": "5Gi", "replicas": 2,
           "image": "mirror.example/postgis:15", "storageClassName": "fast",
           "parameters": {"shared_preload_libraries": "postgis"}, "resources": {"requests": {"memory": "2Gi"}},
           "backup": {"schedule": "0 3 * * *"}},
  "status": {"phase": "Degraded", "readyReplicas": 1, "currentPrimary": "pg-1", "endpoint": "pg.shop.svc:5432",
             "secretName": "pg-credentials", "currentImage": "postgres:15",
             "conditions": [{"type": "Ready", "status": "False", "reason": "NotAllReady", "message": "1/2 replicas ready"},
                            {"type": "PrimaryAvailable", "status": "True", "reason": "Serving", "message": "pg-1 takes writes"}],
             "instances": [{"name": "pg-0", "role": "replica", "ready": false, "timeline": 2, "lagBytes": 1048576},
                           {"name": "pg-1", "role": "primary", "ready": true, "timeline": 2}],
             "backup": {"lastSuccessfulTime": "2026-01-01T03:01:00Z", "lastFailureTime": "2026-01-02T03:05:00Z",
                        "lastFailure": "job pg-backup-2: BackoffLimitExceeded",
                        "lastDump": {"name": "20260101T030000Z", "bytes": 1234, "job": "pg-backup-1"}}}})";

} // namespace

TEST_CASE(
    "status_text: the Database, its conditions with reasons, instances, pods, backups and recent events") {
    std::vector<json::value> pods{
        parse(R"({"metadata": {"name": "pg-1", "labels": {"kubecoro.dev/role": "primary"}},
        "spec": {"nodeName": "n1"},
        "status": {"phase": "Running", "containerStatuses": [{"ready": true, "restartCount": 3}]}})")};
    std::vector<json::value> events;
    for (int i = 0; i < 12; ++i)
        events.push_back(parse(R"({"type": "Normal", "reason": "R)" + std::to_string(i) +
                               R"(", "message": "m", "count": 2, "lastTimestamp": "2026-01-01T00:00:)" +
                               (i < 10 ? "0" : "") + std::to_string(i) + R"(Z"})"));
    std::string t = status_text(parse(replicated), pods, events);
    CHECK(has(t, "Database shop/pg: postgresql 15, phase Degraded\n"));
    CHECK(has(t, "endpoint pg.shop.svc:5432, credentials in Secret pg-credentials"));
    CHECK(has(t, "ready 1/2, primary pg-1, image postgres:15"));
    CHECK(has(t, "Ready               False   NotAllReady             1/2 replicas ready"));
    CHECK(has(t, "PrimaryAvailable    True    Serving                 pg-1 takes writes"));
    CHECK(has(t, "pg-0                replica  not ready, timeline 2, lag 1048576 bytes"));
    CHECK(has(t, "pg-1                primary  Running   ready      restarts 3  node n1"));
    CHECK(has(t,
              "schedule \"0 3 * * *\", last success 2026-01-01T03:01:00Z, last failure 2026-01-02T03:05:00Z "
              "(job pg-backup-2: BackoffLimitExceeded)"));
    CHECK(has(t, "last dump 20260101T030000Z (1234 bytes, job pg-backup-1)"));
    // The newest ten events, oldest first, with their count.
    CHECK_FALSE(has(t, "R0:"));
    CHECK_FALSE(has(t, "R1:"));
    CHECK(has(t, "2026-01-01T00:00:02Z  Normal  R2: m (x2)"));
    CHECK(t.find("R2:") < t.find("R11:"));
}

TEST_CASE("status_text: MariaDB instances show their GTID position, lag in transactions and a stopped "
          "replication") {
    std::string t = status_text(parse(R"({"metadata": {"name": "m", "namespace": "shop"},
      "spec": {"engine": "mariadb", "version": "10.11"},
      "status": {"instances": [
        {"name": "m-0", "role": "primary", "ready": true, "gtidPosition": "0-1-42"},
        {"name": "m-1", "role": "replica", "ready": true, "gtidPosition": "0-1-40", "lagTransactions": 2, "lagSeconds": 1},
        {"name": "m-2", "role": "replica", "ready": false, "gtidPosition": "0-3-45",
         "replicationError": "Got fatal error 1236 from master"}]}})"),
                                {},
                                {});
    CHECK(has(t, "m-0                 primary  ready, GTID 0-1-42\n"));
    CHECK(has(t, "m-1                 replica  ready, GTID 0-1-40, lag 2 transactions / 1 s\n"));
    CHECK(has(
        t, "m-2                 replica  not ready, GTID 0-3-45; replication stopped: Got fatal error 1236"));
}

TEST_CASE("status_text: a Database without status, pods or events says so") {
    std::string t = status_text(parse(R"({"metadata": {"name": "m", "namespace": "ns"},
        "spec": {"engine": "mariadb", "version": "10.11", "backup": {"enabled": false}}})"),
                                {},
                                {});
    CHECK(has(t, "Database ns/m: mariadb 10.11, phase (no status yet)\n"));
    CHECK(has(t, "ready 0/1\n"));
    CHECK(has(t, "Conditions:\n  (none yet)\n"));
    CHECK(has(t, "Pods:\n  (none)\n"));
    CHECK(has(t, "Backups:\n  off (spec.backup.enabled is false)\n"));
    CHECK(has(t, "Recent events:\n  (none)\n"));
}

TEST_CASE("restored_database: the source's engine, version, storage, image, class, parameters, resources") {
    json::value db = restored_database(parse(replicated), "pg-copy", "20260101T030000Z");
    CHECK(
        json::write(db) ==
        R"({"apiVersion":"kubecoro.dev/v1alpha1","kind":"Database","metadata":{"name":"pg-copy","namespace":"shop"},)"
        R"("spec":{"engine":"postgresql","version":"15","storage":"5Gi","image":"mirror.example/postgis:15",)"
        R"("storageClassName":"fast","parameters":{"shared_preload_libraries":"postgis"},)"
        R"("resources":{"requests":{"memory":"2Gi"}},)"
        R"("bootstrap":{"fromBackup":{"claimName":"pg-backup","dump":"20260101T030000Z"}}}})");
    CHECK(json::write(
              *restored_database(parse(replicated), "x", "").at("spec", "bootstrap", "fromBackup", "dump")) ==
          R"("latest")");
}

TEST_CASE(
    "connect_script: the engine's client as the application user, the password only from the environment") {
    CHECK(connect_script("postgresql") ==
          R"(PGPASSWORD="$KUBECORO_APP_PASSWORD" exec psql -h 127.0.0.1 -U app app "$@")");
    CHECK(connect_script("mariadb") ==
          R"(MYSQL_PWD="$MARIADB_PASSWORD" exec mariadb -h 127.0.0.1 -u app app "$@")");
    CHECK(connect_script("mysql") ==
          R"(MYSQL_PWD="$MYSQL_PASSWORD" exec mysql -h 127.0.0.1 -u app app "$@")");
    CHECK(connect_script("oracle").empty());
    CHECK(primary_pod(parse(replicated)) == "pg-1");
    CHECK(primary_pod(parse(R"({"metadata": {"name": "m"}})")) == "m-0");
}
