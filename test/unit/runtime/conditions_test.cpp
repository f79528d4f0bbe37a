#include <kubecoro/json/json.hpp>
#include <kubecoro/runtime/conditions.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

using namespace kubecoro;
using namespace std::chrono_literals;

TEST_CASE("now_rfc3339 formats UTC whole seconds") {
    using namespace std::chrono;
    auto t = sys_days{year{2026} / 11 / 21} + 23h + 20min + 27s + 999ms;
    CHECK(runtime::now_rfc3339(t) == "2026-11-21T23:20:27Z");
    CHECK(runtime::now_rfc3339(system_clock::time_point{}) == "1970-01-01T00:00:00Z");
    CHECK(runtime::now_rfc3339(sys_days{year{2024} / 2 / 29} + 5h) == "2024-02-29T05:00:00Z");
}

TEST_CASE("set_condition adds, keeps lastTransitionTime unless the status changes") {
    std::vector<runtime::condition> cs;
    CHECK(runtime::set_condition(cs, {"Ready", "False", "Creating", "creating the StatefulSet", 1}, "T1"));
    REQUIRE(cs.size() == 1);
    CHECK(cs[0].last_transition_time == "T1");

    // Same status, new reason: updated, transition time kept.
    CHECK(runtime::set_condition(cs, {"Ready", "False", "Waiting", "1/3 replicas ready", 2}, "T2"));
    CHECK(cs[0].reason == "Waiting");
    CHECK(cs[0].message == "1/3 replicas ready");
    CHECK(cs[0].observed_generation == 2);
    CHECK(cs[0].last_transition_time == "T1");

    // Nothing different: no change reported.
    CHECK_FALSE(runtime::set_condition(cs, {"Ready", "False", "Waiting", "1/3 replicas ready", 2}, "T3"));
    CHECK(cs[0].last_transition_time == "T1");

    // Status flips: transition time moves.
    CHECK(runtime::set_condition(cs, {"Ready", "True", "Available", "", 2}, "T4"));
    CHECK(cs[0].last_transition_time == "T4");
    CHECK(runtime::is_true(cs, "Ready"));
    CHECK_FALSE(runtime::is_false(cs, "Ready"));

    // A second type is appended; an explicit transition time is kept.
    CHECK(runtime::set_condition(cs, {"Degraded", "False", "AsExpected", "", 2, "T0"}, "T5"));
    REQUIRE(cs.size() == 2);
    CHECK(cs[1].last_transition_time == "T0");
    CHECK(runtime::find_condition(cs, "Degraded") == &cs[1]);
    CHECK(runtime::find_condition(cs, "Missing") == nullptr);
    CHECK_FALSE(runtime::is_true(cs, "Missing"));
    CHECK_FALSE(runtime::is_false(cs, "Missing"));

    CHECK(runtime::remove_condition(cs, "Ready"));
    CHECK_FALSE(runtime::remove_condition(cs, "Ready"));
    CHECK(cs.size() == 1);
}

TEST_CASE("conditions to and from JSON") {
    std::vector<runtime::condition> cs{
        {"Ready", "True", "Available", "all \"good\"", 3, "2026-11-21T23:20:27Z"},
        {"Progressing", "Unknown", "Pending", "", 0, "2026-11-21T23:00:00Z"},
    };
    json::value v = runtime::to_json(cs);
    CHECK(json::write(v) ==
          "[{\"type\":\"Ready\",\"status\":\"True\",\"observedGeneration\":3,"
          "\"lastTransitionTime\":\"2026-11-21T23:20:27Z\",\"reason\":\"Available\",\"message\":\"all "
          "\\\"good\\\"\"},"
          "{\"type\":\"Progressing\",\"status\":\"Unknown\",\"lastTransitionTime\":\"2026-11-21T23:00:00Z\","
          "\"reason\":\"Pending\",\"message\":\"\"}]");
    auto back = runtime::conditions_from_json(v);
    REQUIRE(back);
    CHECK(*back == cs);

    auto parsed = json::parse(R"([{"type":"Ready","status":"False","extra":1}])");
    REQUIRE(parsed);
    auto minimal = runtime::conditions_from_json(*parsed);
    REQUIRE(minimal);
    CHECK(minimal->at(0) == runtime::condition{"Ready", "False", "", "", 0, ""});

    auto empty = runtime::conditions_from_json(json::value{});
    REQUIRE(empty);
    CHECK(empty->empty());

    auto bad = runtime::conditions_from_json(json::value("x"));
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == json::errc::type);
    auto no_status = runtime::condition_from_json(json::object{{"type", "Ready"}});
    REQUIRE_FALSE(no_status);
    CHECK(no_status.error().code == json::errc::type);
}
