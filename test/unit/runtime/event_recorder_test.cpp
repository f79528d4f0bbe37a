#include <kubecoro/runtime/event_recorder.hpp>

#include <doctest/doctest.h>

using namespace kubecoro;
using namespace kubecoro::runtime;
using namespace std::chrono_literals;

namespace {

event_record record(std::string reason, std::string message, std::string uid = "uid-1") {
    event_record e;
    e.object = {"example.com/v1", "Widget", "ns", "w", std::move(uid), "7"};
    e.reason = std::move(reason);
    e.message = std::move(message);
    return e;
}

using clock = event_aggregator::clock;

} // namespace

TEST_CASE("identical events share a key; any difference makes another") {
    auto k = event_aggregator::key(record("Created", "made cm"));
    CHECK(k == event_aggregator::key(record("Created", "made cm")));
    CHECK(k != event_aggregator::key(record("Created", "made cm2")));
    CHECK(k != event_aggregator::key(record("Updated", "made cm")));
    CHECK(k != event_aggregator::key(record("Created", "made cm", "uid-2")));
    auto warning = record("Created", "made cm");
    warning.type = event_type::warning;
    CHECK(k != event_aggregator::key(warning));
}

TEST_CASE("aggregation: repeats within the window count up on the same Event") {
    event_aggregator agg(10min, 100);
    clock::time_point now{};
    auto k = event_aggregator::key(record("Created", "made cm"));
    CHECK(agg.observe(k, now) == nullptr); // first: create
    agg.created(k, "w.abc", "ns", now);

    auto s = agg.observe(k, now + 1min);
    REQUIRE(s);
    CHECK(s->name == "w.abc");
    CHECK(s->namespace_ == "ns");
    CHECK(s->count == 2);
    s = agg.observe(k, now + 9min);
    REQUIRE(s);
    CHECK(s->count == 3);

    SUBCASE("the window runs from the last occurrence") {
        s = agg.observe(k, now + 18min);
        REQUIRE(s);
        CHECK(s->count == 4);
    }
    SUBCASE("after the window a new Event starts") {
        CHECK(agg.observe(k, now + 19min + 1s) == nullptr);
        CHECK(agg.size() == 0);
    }
    SUBCASE("a vanished Event is created again") {
        agg.forget(k);
        CHECK(agg.observe(k, now + 10s) == nullptr);
    }
}

TEST_CASE("aggregation: the number of remembered series is bounded, oldest out first") {
    event_aggregator agg(10min, 2);
    clock::time_point now{};
    agg.created("a", "a.1", "ns", now);
    agg.created("b", "b.1", "ns", now + 1s);
    agg.created("c", "c.1", "ns", now + 2s);
    CHECK(agg.size() == 2);
    CHECK(agg.observe("a", now + 3s) == nullptr);
    CHECK(agg.observe("b", now + 3s) != nullptr);
    CHECK(agg.observe("c", now + 3s) != nullptr);
}

TEST_CASE("render_event builds a core/v1 Event") {
    auto e = record("Created", "made cm");
    e.type = event_type::warning;
    e.time = std::chrono::system_clock::time_point(std::chrono::seconds(1714564800)); // 2024-05-01T12:00:00Z
    event_recorder_config config{"widgets", "pod-1"};
    json::value ev = render_event(e, config, "w.123");
    CHECK(ev.at("apiVersion")->string_or("") == "v1");
    CHECK(ev.at("kind")->string_or("") == "Event");
    CHECK(ev.at("metadata", "name")->string_or("") == "w.123");
    CHECK(ev.at("metadata", "namespace")->string_or("") == "ns");
    CHECK(ev.at("involvedObject", "kind")->string_or("") == "Widget");
    CHECK(ev.at("involvedObject", "uid")->string_or("") == "uid-1");
    CHECK(ev.at("type")->string_or("") == "Warning");
    CHECK(ev.at("reason")->string_or("") == "Created");
    CHECK(ev.at("source", "component")->string_or("") == "widgets");
    CHECK(ev.at("source", "host")->string_or("") == "pod-1");
    CHECK(ev.at("reportingComponent")->string_or("") == "widgets");
    CHECK(ev.at("firstTimestamp")->string_or("") == "2024-05-01T12:00:00Z");
    CHECK(ev.at("count")->int_or(0) == 1);

    SUBCASE("cluster-scoped objects get their events in default") {
        e.object.namespace_.clear();
        CHECK(render_event(e, config, "n").at("metadata", "namespace")->string_or("") == "default");
    }
}

TEST_CASE("the recorder buffers without waiting and drops the oldest when full") {
    event_recorder recorder(nullptr, {"widgets", "", 2});
    recorder.record(record("A", "1"));
    recorder.record(record("B", "2"));
    recorder.record(record("C", "3"));
    CHECK(recorder.pending() == 2);
    CHECK(recorder.dropped() == 1);
}
