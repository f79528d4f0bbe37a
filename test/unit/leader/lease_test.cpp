#include <kubecoro/api/resource.hpp>
#include <kubecoro/client/client.hpp>
#include <kubecoro/core/errc.hpp>
#include <kubecoro/json/json.hpp>
#include <kubecoro/leader/elector.hpp>
#include <kubecoro/leader/errc.hpp>
#include <kubecoro/leader/lease.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <string>

using namespace kubecoro;
using namespace std::chrono;
using namespace std::chrono_literals;

namespace {

system_clock::time_point utc(year_month_day d, system_clock::duration time_of_day) {
    return system_clock::time_point(sys_days(d)) + time_of_day;
}

json::value parsed(std::string_view text) {
    auto r = json::parse(text);
    REQUIRE(r);
    return std::move(*r);
}

// A Lease as kube-apiserver v1.20 returns it.
constexpr std::string_view server_lease = R"({
  "kind": "Lease",
  "apiVersion": "coordination.k8s.io/v1",
  "metadata": {
    "name": "kubecoro-leader",
    "namespace": "kubecoro-system",
    "uid": "0b5b1e4c-4f0e-4c31-9d7a-6c6f1f0e8a11",
    "resourceVersion": "4711",
    "creationTimestamp": "2026-11-21T23:00:00Z",
    "managedFields": []
  },
  "spec": {
    "holderIdentity": "node-a_0123456789abcdef",
    "leaseDurationSeconds": 15,
    "acquireTime": "2026-11-21T23:00:00.000001Z",
    "renewTime": "2026-11-21T23:20:27.123456Z",
    "leaseTransitions": 3
  }
})";

} // namespace

TEST_CASE("MicroTime: formats UTC with six fraction digits") {
    auto t = utc(2026y / November / 21, 23h + 20min + 27s + 123456us);
    CHECK(leader::format_micro_time(t) == "2026-11-21T23:20:27.123456Z");
    CHECK(leader::format_micro_time(system_clock::time_point{}) == "1970-01-01T00:00:00.000000Z");
    // Finer precision is truncated, not rounded.
    CHECK(leader::format_micro_time(t + 999ns) == "2026-11-21T23:20:27.123456Z");
    CHECK(leader::format_micro_time(utc(2024y / February / 29, 23h + 59min + 59s + 999999us)) ==
          "2024-02-29T23:59:59.999999Z");
    // Before the epoch: days and fractions still count forwards.
    CHECK(leader::format_micro_time(system_clock::time_point{} - 500ms) == "1969-12-31T23:59:59.500000Z");
}

TEST_CASE("MicroTime: parse and format round trip") {
    for (std::string_view s : {"2026-11-21T23:20:27.123456Z",
                               "1970-01-01T00:00:00.000000Z",
                               "1969-12-31T23:59:59.500000Z",
                               "2024-02-29T23:59:59.999999Z",
                               "2000-01-01T12:00:00.000001Z"}) {
        CAPTURE(s);
        auto t = leader::parse_micro_time(s);
        REQUIRE(t);
        CHECK(leader::format_micro_time(*t) == s);
    }
    auto t = utc(2026y / November / 21, 23h + 20min + 27s + 123456us);
    auto back = leader::parse_micro_time(leader::format_micro_time(t + 789ns));
    REQUIRE(back);
    CHECK(*back == t);
}

TEST_CASE("MicroTime: accepts any RFC 3339 date-time") {
    auto base = utc(2026y / November / 21, 23h + 20min + 27s);
    auto p = [](std::string_view s) {
        auto r = leader::parse_micro_time(s);
        REQUIRE(r);
        return *r;
    };
    CHECK(p("2026-11-21T23:20:27Z") == base); // metav1.Time: no fraction
    CHECK(p("2026-11-21T23:20:27.5Z") == base + 500ms);
    CHECK(p("2026-11-21T23:20:27.123456789Z") == base + 123456789ns);
    CHECK(p("2026-11-21t23:20:27z") == base);
    CHECK(p("2026-11-22T00:20:27+01:00") == base);
    CHECK(p("2026-11-21T17:50:27.000000-05:30") == base);
}

TEST_CASE("MicroTime: rejects what is not a date-time") {
    for (std::string_view s : {"",
                               "2026-11-21",
                               "2026-11-21T23:20:27",        // no zone
                               "2026-11-21 23:20:27Z",       // space instead of T
                               "2026-13-01T00:00:00Z",       // month
                               "2026-02-29T00:00:00Z",       // not a leap year
                               "2026-11-21T24:00:00Z",       // hour
                               "2026-11-21T23:60:00Z",       // minute
                               "2026-11-21T23:20:27.Z",      // fraction without digits
                               "2026-11-21T23:20:27.123456", // no zone after the fraction
                               "2026-11-21T23:20:27+0100",   // offset without colon
                               "2026-11-21T23:20:27Zjunk",
                               "26-11-21T23:20:27Z",
                               "9999-12-31T23:59:59Z"}) { // beyond a nanosecond system_clock
        CAPTURE(s);
        auto r = leader::parse_micro_time(s);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == leader::errc::bad_lease);
    }
}

TEST_CASE("lease_resource: coordination.k8s.io/v1 leases") {
    CHECK(api::path(leader::lease_resource(), "kubecoro-system", "kubecoro-leader") ==
          "/apis/coordination.k8s.io/v1/namespaces/kubecoro-system/leases/kubecoro-leader");
    CHECK(leader::lease_resource().api_version() == "coordination.k8s.io/v1");
}

TEST_CASE("lease_from_json: a Lease from the API server") {
    auto r = leader::lease_from_json(parsed(server_lease));
    REQUIRE(r);
    CHECK(r->holder_identity == "node-a_0123456789abcdef");
    CHECK(r->lease_duration_seconds == 15);
    CHECK(r->acquire_time == utc(2026y / November / 21, 23h + 1us));
    CHECK(r->renew_time == utc(2026y / November / 21, 23h + 20min + 27s + 123456us));
    CHECK(r->lease_transitions == 3);
    CHECK(r->resource_version == "4711");
}

TEST_CASE("lease_from_json: missing fields stay empty") {
    // A Lease created by `kubectl create` with an empty spec, and one without any spec.
    for (std::string_view text : {R"({"metadata":{"name":"l","resourceVersion":"9"},"spec":{}})",
                                  R"({"metadata":{"name":"l","resourceVersion":"9"}})"}) {
        CAPTURE(text);
        auto r = leader::lease_from_json(parsed(text));
        REQUIRE(r);
        CHECK(r->holder_identity.empty());
        CHECK(r->lease_duration_seconds == 0);
        CHECK_FALSE(r->acquire_time);
        CHECK_FALSE(r->renew_time);
        CHECK(r->lease_transitions == 0);
        CHECK(r->resource_version == "9");
    }
    auto released = leader::lease_from_json(parsed(
        R"({"metadata":{},"spec":{"holderIdentity":null,"leaseDurationSeconds":1,"renewTime":null}})"));
    REQUIRE(released);
    CHECK(released->holder_identity.empty());
    CHECK(released->lease_duration_seconds == 1);
    CHECK_FALSE(released->renew_time);
    CHECK(released->resource_version.empty());
}

TEST_CASE("lease_from_json: wrong types and bad timestamps fail") {
    for (std::string_view text : {R"([])",
                                  R"({"spec":{"holderIdentity":7}})",
                                  R"({"spec":{"leaseDurationSeconds":"15"}})",
                                  R"({"spec":{"leaseDurationSeconds":1.5}})",
                                  R"({"spec":{"leaseTransitions":99999999999}})",
                                  R"({"spec":{"renewTime":"yesterday"}})",
                                  R"({"spec":{"acquireTime":12}})",
                                  R"({"metadata":{"resourceVersion":5}})"}) {
        CAPTURE(text);
        auto r = leader::lease_from_json(parsed(text));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == leader::errc::bad_lease);
    }
    auto r = leader::lease_from_json(parsed(R"({"spec":{"renewTime":"yesterday"}})"));
    CHECK(r.error().message.find("spec.renewTime") != std::string::npos);
}

TEST_CASE("lease_to_json: the object to create or replace") {
    leader::lease_record rec;
    rec.holder_identity = "node-a_1";
    rec.lease_duration_seconds = 15;
    rec.acquire_time = utc(2026y / November / 21, 23h);
    rec.renew_time = utc(2026y / November / 21, 23h + 20min + 27s + 123456us);
    rec.lease_transitions = 2;
    rec.resource_version = "4711";
    auto v = leader::lease_to_json(rec, "kubecoro-system", "kubecoro-leader");
    CHECK(json::write(v) ==
          R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease",)"
          R"("metadata":{"name":"kubecoro-leader","namespace":"kubecoro-system","resourceVersion":"4711"},)"
          R"("spec":{"holderIdentity":"node-a_1","leaseDurationSeconds":15,)"
          R"("acquireTime":"2026-11-21T23:00:00.000000Z","renewTime":"2026-11-21T23:20:27.123456Z",)"
          R"("leaseTransitions":2}})");

    SUBCASE("a create carries no resourceVersion; unset times are left out; an empty holder is written") {
        leader::lease_record released;
        released.lease_duration_seconds = 1;
        auto w = leader::lease_to_json(released, "ns", "l");
        CHECK(w.at("metadata", "resourceVersion") == nullptr);
        CHECK(w.at("spec", "acquireTime") == nullptr);
        CHECK(w.at("spec", "renewTime") == nullptr);
        REQUIRE(w.at("spec", "holderIdentity"));
        CHECK(*w.at("spec", "holderIdentity") == json::value(""));
        CHECK(w.at("spec", "leaseDurationSeconds")->int_or(0) == 1);
    }

    SUBCASE("round trip through JSON text") {
        auto back = leader::lease_from_json(parsed(json::write(v)));
        REQUIRE(back);
        CHECK(*back == rec);
    }
}

TEST_CASE("elector::create: identity and configuration checks") {
    asio::io_context io;
    config::cluster_config cc;
    cc.server = "http://127.0.0.1:1";
    auto c = client::client::create(io.get_executor(), cc);
    REQUIRE(c);

    auto id = leader::default_identity();
    auto sep = id.rfind('_');
    REQUIRE(sep != std::string::npos);
    CHECK(sep > 0);
    CHECK(id.size() - sep - 1 == 16);
    CHECK(id != leader::default_identity());

    auto e = leader::elector::create(*c, {.namespace_ = "ns", .name = "l"});
    REQUIRE(e);
    CHECK((*e)->identity().find('_') != std::string::npos);
    CHECK_FALSE((*e)->is_leader());
    CHECK((*e)->leader_identity().empty());

    auto named = leader::elector::create(*c, {.namespace_ = "ns", .name = "l", .identity = "me"});
    REQUIRE(named);
    CHECK((*named)->identity() == "me");

    auto fails = [&](leader::elector_config cfg) {
        auto r = leader::elector::create(*c, std::move(cfg));
        return !r && r.error().code == core::errc::invalid_argument;
    };
    CHECK(fails({.namespace_ = "", .name = "l"}));
    CHECK(fails({.namespace_ = "ns", .name = ""}));
    CHECK(fails({.namespace_ = "ns", .name = "l", .lease_duration = 10s, .renew_deadline = 10s}));
    CHECK(fails({.namespace_ = "ns", .name = "l", .retry_period = 0s}));
    CHECK(fails({.namespace_ = "ns", .name = "l", .request_timeout = 0s}));
    CHECK(fails({.namespace_ = "ns", .name = "l", .retry_jitter = 1.0}));
    CHECK(fails({.namespace_ = "ns", .name = "l", .retry_jitter = -0.1}));
    CHECK_FALSE(leader::elector::create(nullptr, {.namespace_ = "ns", .name = "l"}));
}

TEST_CASE("elector: hold() without leading fails at once, without I/O") {
    asio::io_context io;
    config::cluster_config cc;
    cc.server = "http://127.0.0.1:1";
    auto c = client::client::create(io.get_executor(), cc);
    REQUIRE(c);
    auto e = leader::elector::create(*c, {.namespace_ = "ns", .name = "l", .identity = "me"});
    REQUIRE(e);
    std::optional<core::result<void>> held;
    asio::co_spawn(io, (*e)->hold(), [&](std::exception_ptr ep, core::result<void> r) {
        REQUIRE_FALSE(ep);
        held = std::move(r);
    });
    io.run_for(5s);
    REQUIRE(held);
    REQUIRE_FALSE(*held);
    CHECK(held->error().code == leader::errc::not_leader);
    CHECK(io.stopped());
}
