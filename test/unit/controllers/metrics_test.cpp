#include "database/metrics.hpp"
#include <kubecoro/json/json.hpp>
#include <kubecoro/metrics/metrics.hpp>

#include <doctest/doctest.h>

using namespace kubecoro;
using namespace kubecoro::controllers::database;

namespace {

runtime::object_ptr db(const std::string& name, const std::string& spec, const std::string& status) {
    auto parsed =
        json::parse(R"({"apiVersion":"kubecoro.dev/v1alpha1","kind":"Database","metadata":{"name":")" + name +
                    R"(","namespace":"ns","creationTimestamp":"2026-01-01T10:00:00Z"},"spec":)" + spec +
                    R"(,"status":)" + status + "}");
    REQUIRE(parsed);
    return runtime::make_object(std::move(*parsed), runtime::keep_all());
}

// 2026-01-02T02:00:00Z and 2026-01-03T02:00:00Z, the daily 02:00 runs after the creation.
constexpr double jan2_2am = 1767319200;
constexpr double day = 86400;

} // namespace

TEST_CASE("sample_database: phase, replicas, conditions and the backup deadline from the cached object") {
    auto s = sample_database(
        *db("a", R"({"engine":"postgresql","version":"16","storage":"1Gi","replicas":3})", R"({
        "phase":"Degraded","readyReplicas":2,
        "conditions":[{"type":"Ready","status":"False","reason":"NotAllReady"},
                      {"type":"ReconcileSucceeded","status":"True","reason":"Applied"},
                      {"type":"BackupReady","status":"Unknown","reason":"NoBackupYet"}]})"));
    CHECK(s.namespace_ == "ns");
    CHECK(s.name == "a");
    CHECK(s.engine == "postgresql");
    CHECK(s.phase == "Degraded");
    CHECK(s.replicas == 3);
    CHECK(s.ready_replicas == 2);
    REQUIRE(s.conditions.size() == 2); // Unknown is left out
    CHECK(s.conditions[0].type == "Ready");
    CHECK(s.conditions[0].reason == "NotAllReady");
    CHECK_FALSE(s.conditions[0].value);
    CHECK(s.conditions[1].value);
    // Never backed up: the deadline counts from the creation, the second 02:00 after it.
    CHECK(s.backups);
    CHECK(s.backup_last_success == 0);
    CHECK(s.backup_last_failure == 0);
    CHECK(s.backup_deadline == jan2_2am + day);
}

TEST_CASE("sample_database: the deadline moves with each success; a failure is reported as it is") {
    auto s = sample_database(*db("a", R"({"engine":"mariadb","version":"11.4","storage":"1Gi"})", R"({
        "backup":{"lastSuccessfulTime":"2026-01-05T02:00:40Z","lastFailureTime":"2026-01-04T02:01:00Z"}})"));
    CHECK(s.backups);
    CHECK(s.backup_last_success == jan2_2am + 3 * day + 40);
    CHECK(s.backup_last_failure == jan2_2am + 2 * day + 60);
    CHECK(s.backup_deadline == jan2_2am + 5 * day); // the 6th's run missed, then the 7th's too
    CHECK(s.replicas == 1);                         // the default
    CHECK(s.phase.empty());

    auto hourly = sample_database(
        *db("b",
            R"({"engine":"mysql","version":"8.4","storage":"1Gi","backup":{"schedule":"0 * * * *"}})",
            "{}"));
    CHECK(hourly.backup_deadline == 1767261600 + 2 * 3600); // 11:00 then 12:00 after the 10:00 creation
}

TEST_CASE("sample_database: no backup series without scheduled backups or with a spec that does not decode") {
    CHECK_FALSE(
        sample_database(
            *db("a",
                R"({"engine":"postgresql","version":"16","storage":"1Gi","backup":{"enabled":false}})",
                "{}"))
            .backups);
    auto bad = sample_database(*db("a", R"({"engine":"oracle"})", R"({"phase":"Failed"})"));
    CHECK_FALSE(bad.backups);
    CHECK(bad.phase == "Failed"); // still reported
}

TEST_CASE("export_database_metrics: each scrape says what the cache holds now, nothing more") {
    metrics::registry r;
    std::vector<runtime::object_ptr> cached{
        db("a", R"({"engine":"postgresql","version":"16","storage":"1Gi"})", R"({"phase":"Provisioning"})")};
    export_database_metrics(r, [&cached] { return cached; });
    std::string first = r.render();
    CHECK(
        first.find(
            R"(kubecoro_database_phase{namespace="ns",name="a",engine="postgresql",phase="Provisioning"} 1)") !=
        std::string::npos);
    CHECK(first.find(R"(kubecoro_database_replicas{namespace="ns",name="a"} 1)") != std::string::npos);
    CHECK(
        first.find(R"(kubecoro_database_backup_last_success_timestamp_seconds{namespace="ns",name="a"} 0)") !=
        std::string::npos);

    cached = {db("a",
                 R"({"engine":"postgresql","version":"16","storage":"1Gi"})",
                 R"({"phase":"Ready","readyReplicas":1})")};
    std::string second = r.render();
    CHECK(second.find(R"(phase="Provisioning")") == std::string::npos); // the old phase's series is gone
    CHECK(second.find(
              R"(kubecoro_database_phase{namespace="ns",name="a",engine="postgresql",phase="Ready"} 1)") !=
          std::string::npos);
    CHECK(second.find(R"(kubecoro_database_ready_replicas{namespace="ns",name="a"} 1)") != std::string::npos);

    cached.clear(); // deleted
    std::string third = r.render();
    CHECK(third.find(R"(name="a")") == std::string::npos);
    CHECK(third.find("kubecoro_database_") == std::string::npos);
}
