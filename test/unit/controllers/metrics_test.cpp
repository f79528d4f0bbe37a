#include "database/metrics.hpp"
#include <kubecoro/json/json.hpp>
#include <kubecoro/metrics/metrics.hpp>

#include <doctest/doctest.h>

#include <cstdlib>

using namespace kubecoro;
using namespace kubecoro::controllers::database;

namespace {

runtime::object_ptr object(const std::string& text) {
    auto parsed = json::parse(text);
    REQUIRE(parsed);
    return runtime::make_object(std::move(*parsed), runtime::keep_all());
}

runtime::object_ptr db(const std::string& name, const std::string& spec, const std::string& status) {
    return object(R"({"apiVersion":"kubecoro.dev/v1alpha1","kind":"Database","metadata":{"name":")" + name +
                  R"(","namespace":"ns","creationTimestamp":"2026-01-01T10:00:00Z"},"spec":)" + spec +
                  R"(,"status":)" + status + "}");
}

// The backup CronJob, created at `created`.
runtime::object_ptr cronjob(const std::string& name, const std::string& created) {
    return object(R"({"apiVersion":"batch/v1beta1","kind":"CronJob","metadata":{"name":")" + name +
                  R"(-backup","namespace":"ns","creationTimestamp":")" + created + R"("}})");
}

// The value of `series` in a rendering; -1 when it is not there.
double value_of(const std::string& text, const std::string& series) {
    auto at = text.find("\n" + series + " ");
    return at == std::string::npos ? -1 : std::strtod(text.c_str() + at + series.size() + 2, nullptr);
}

// 2026-01-02T02:00:00Z: the first daily 02:00 run after 2026-01-01T10:00:00Z.
constexpr double jan2_2am = 1767319200;
constexpr double day = 86400;
constexpr double grace = 600;

} // namespace

TEST_CASE("sample_database: phase, replicas and conditions from the cached object") {
    auto s = sample_database(
        {db("a", R"({"engine":"postgresql","version":"16","storage":"1Gi","replicas":3})", R"({
        "phase":"Degraded","readyReplicas":2,
        "conditions":[{"type":"Ready","status":"False","reason":"NotReady"},
                      {"type":"ReconcileSucceeded","status":"True","reason":"Succeeded"},
                      {"type":"PrimaryAvailable","status":"Unknown","reason":"Unreachable"}]})"),
         nullptr});
    CHECK(s.namespace_ == "ns");
    CHECK(s.name == "a");
    CHECK(s.engine == "postgresql");
    CHECK(s.phase == "Degraded");
    CHECK(s.replicas == 3);
    CHECK(s.ready_replicas == 2);
    REQUIRE(s.conditions.size() == 2); // Unknown is left out
    CHECK(s.conditions[0].type == "Ready");
    CHECK(s.conditions[0].reason == "NotReady");
    CHECK_FALSE(s.conditions[0].value);
    CHECK(s.conditions[1].value);
    // Backups are on by default; no CronJob yet: times but no deadline.
    CHECK(s.backups);
    CHECK(s.backup_last_success == 0);
    CHECK(s.backup_last_failure == 0);
    CHECK(s.backup_deadline == 0);
}

TEST_CASE("sample_database: the deadline counts from the later of the last success and the CronJob") {
    const std::string spec = R"({"engine":"mariadb","version":"11.4","storage":"1Gi"})";
    // Never backed up: the second 02:00 after the CronJob's creation, plus the grace.
    auto fresh = sample_database({db("a", spec, "{}"), cronjob("a", "2026-01-01T10:00:05Z")});
    CHECK(fresh.backup_deadline == jan2_2am + day + grace);

    auto s = sample_database({db("a", spec, R"({
        "backup":{"lastSuccessfulTime":"2026-01-05T02:00:40Z","lastFailureTime":"2026-01-04T02:01:00Z"}})"),
                              cronjob("a", "2026-01-01T10:00:05Z")});
    CHECK(s.backup_last_success == jan2_2am + 3 * day + 40);
    CHECK(s.backup_last_failure == jan2_2am + 2 * day + 60);
    CHECK(s.backup_deadline == jan2_2am + 5 * day + grace); // the 6th's run missed, then the 7th's
    CHECK(s.replicas == 1);                                 // the default
    CHECK(s.phase.empty());

    // Backups turned on again on the 10th: an older success does not make them stale at once.
    auto again =
        sample_database({db("a", spec, R"({"backup":{"lastSuccessfulTime":"2026-01-05T02:00:40Z"}})"),
                         cronjob("a", "2026-01-10T12:00:00Z")});
    CHECK(again.backup_deadline == jan2_2am + 10 * day + grace);

    auto hourly = sample_database({db("b",
                                      R"({"engine":"mysql","version":"8.4","storage":"1Gi",
                                          "backup":{"schedule":"0 * * * *"}})",
                                      "{}"),
                                   cronjob("b", "2026-01-01T10:00:00Z")});
    CHECK(hourly.backup_deadline == 1767261600 + 2 * 3600 + grace); // 11:00, 12:00 after 10:00
}

TEST_CASE("sample_database: no backup series with backups off; a spec the controller refuses still reports") {
    auto off = sample_database(
        {db("a",
            R"({"engine":"postgresql","version":"16","storage":"1Gi","backup":{"enabled":false}})",
            "{}"),
         cronjob("a", "2026-01-01T10:00:05Z")});
    CHECK_FALSE(off.backups);
    auto bad = sample_database({db("a", R"({"engine":"oracle"})", R"({"phase":"Failed"})"), nullptr});
    CHECK(bad.phase == "Failed");
    CHECK(bad.engine == "oracle");
}

TEST_CASE("export_database_metrics: each scrape says what the cache holds now, nothing more") {
    metrics::registry r;
    std::vector<cached_database> cached{
        {db("a", R"({"engine":"postgresql","version":"16","storage":"1Gi"})", R"({"phase":"Provisioning"})"),
         cronjob("a", "2026-01-01T10:00:05Z")}};
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
    CHECK(
        value_of(first, R"(kubecoro_database_backup_deadline_timestamp_seconds{namespace="ns",name="a"})") ==
        jan2_2am + day + grace);

    cached = {{db("a",
                  R"({"engine":"postgresql","version":"16","storage":"1Gi"})",
                  R"({"phase":"Ready","readyReplicas":1})"),
               nullptr}};
    std::string second = r.render();
    CHECK(second.find(R"(phase="Provisioning")") == std::string::npos); // the old phase's series is gone
    CHECK(second.find(
              R"(kubecoro_database_phase{namespace="ns",name="a",engine="postgresql",phase="Ready"} 1)") !=
          std::string::npos);
    CHECK(second.find(R"(kubecoro_database_ready_replicas{namespace="ns",name="a"} 1)") != std::string::npos);
    CHECK(second.find("kubecoro_database_backup_deadline_timestamp_seconds{") ==
          std::string::npos); // no CronJob

    cached.clear(); // deleted
    CHECK(r.render().find("kubecoro_database_") == std::string::npos);
}
