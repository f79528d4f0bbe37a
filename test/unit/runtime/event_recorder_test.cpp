#include <kubecoro/api/errc.hpp>
#include <kubecoro/core/time.hpp>
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

TEST_CASE("render_events_v1_event builds an events.k8s.io/v1 Event") {
    auto e = record("Created", "made cm");
    e.type = event_type::warning;
    // 2024-05-01T12:00:00.000123Z
    e.time = std::chrono::system_clock::time_point(std::chrono::microseconds(1714564800000123));
    event_recorder_config config{"widgets", "pod-1"};
    json::value ev = render_events_v1_event(e, config, "w.123");
    CHECK(ev.at("apiVersion")->string_or("") == "events.k8s.io/v1");
    CHECK(ev.at("kind")->string_or("") == "Event");
    CHECK(ev.at("metadata", "name")->string_or("") == "w.123");
    CHECK(ev.at("metadata", "namespace")->string_or("") == "ns");
    CHECK(ev.at("regarding", "kind")->string_or("") == "Widget");
    CHECK(ev.at("regarding", "uid")->string_or("") == "uid-1");
    CHECK(ev.at("note")->string_or("") == "made cm");
    CHECK(ev.at("type")->string_or("") == "Warning");
    CHECK(ev.at("reason")->string_or("") == "Created");
    CHECK(ev.at("action")->string_or("") == "Created"); // the reason when no action is given
    CHECK(ev.at("reportingController")->string_or("") == "widgets");
    CHECK(ev.at("reportingInstance")->string_or("") == "pod-1");
    CHECK(ev.at("eventTime")->string_or("") == "2024-05-01T12:00:00.000123Z");
    // Fields the server refuses in events.k8s.io/v1 creations.
    for (const char* deprecated : {"count", "firstTimestamp", "lastTimestamp", "source", "series", "message"})
        CHECK_MESSAGE(ev.at(deprecated) == nullptr, deprecated);

    SUBCASE("an explicit action") {
        e.action = "Reconcile";
        CHECK(render_events_v1_event(e, config, "n").at("action")->string_or("") == "Reconcile");
    }
    SUBCASE("no instance configured: the host name") {
        CHECK_FALSE(
            render_events_v1_event(e, {"widgets", ""}, "n").at("reportingInstance")->string_or("").empty());
    }
    SUBCASE("long notes are cut at 1 KiB") {
        e.message = std::string(3000, 'x');
        CHECK(render_events_v1_event(e, config, "n").at("note")->string_or("").size() == 1024);
    }
}

TEST_CASE("a repeat patches count in core/v1 and the series in events.k8s.io/v1") {
    auto t = std::chrono::system_clock::time_point(std::chrono::microseconds(1714564800000123));
    CHECK(render_event_repeat(event_api::core_v1, 2, t) ==
          R"({"count":2,"lastTimestamp":"2024-05-01T12:00:00Z"})");
    CHECK(render_event_repeat(event_api::events_v1, 3, t) ==
          R"({"series":{"count":3,"lastObservedTime":"2024-05-01T12:00:00.000123Z"}})");
}

TEST_CASE("MicroTime keeps microseconds, zero-padded") {
    auto rfc3339_micro = [](std::chrono::system_clock::time_point t) {
        return core::format_rfc3339(t, core::time_precision::microseconds);
    };
    CHECK(rfc3339_micro(std::chrono::system_clock::time_point(std::chrono::seconds(1714564800))) ==
          "2024-05-01T12:00:00.000000Z");
    CHECK(rfc3339_micro(std::chrono::system_clock::time_point(std::chrono::microseconds(1714564800999999))) ==
          "2024-05-01T12:00:00.999999Z");
}

TEST_CASE("the event API: events.k8s.io/v1 when discovery found it, core/v1 otherwise") {
    api::resource found{"events.k8s.io", "v1", "events", "Event", api::scope::namespaced};
    CHECK(choose_event_api(core::result<api::resource>(found)) == event_api::events_v1);
    CHECK(choose_event_api(core::fail(api::errc::not_found, "none served")) == event_api::core_v1);
    CHECK(choose_event_api(core::fail(api::errc::service_unavailable, "discovery failed")) ==
          event_api::core_v1);
    found.version = "v1beta1"; // served with another schema: not what the recorder renders
    CHECK(choose_event_api(core::result<api::resource>(found)) == event_api::core_v1);
}
