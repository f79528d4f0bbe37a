#include <kubecoro/runtime/work_queue.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

using namespace kubecoro;
using namespace std::chrono_literals;
using tp = runtime::work_queue::clock::time_point;

namespace {
const tp t0 = tp{} + 1h;

std::vector<std::string> drain(runtime::work_queue& q, tp now) {
    std::vector<std::string> keys;
    while (auto k = q.pop(now))
        keys.push_back(*k);
    return keys;
}
} // namespace

TEST_CASE("add dedupes and pop is FIFO") {
    runtime::work_queue q;
    q.add("ns/a", t0);
    q.add("ns/b", t0);
    q.add("ns/a", t0);
    q.add("ns/c", t0);
    CHECK(q.depth() == 3);
    CHECK(q.adds_total() == 3);
    CHECK(drain(q, t0) == std::vector<std::string>{"ns/a", "ns/b", "ns/c"});
    CHECK(q.depth() == 0);
    CHECK_FALSE(q.pop(t0));
}

TEST_CASE("a key being processed is not handed out again; added meanwhile it is dirty") {
    runtime::work_queue q;
    q.add("ns/a", t0);
    REQUIRE(q.pop(t0) == "ns/a");
    CHECK(q.is_processing("ns/a"));
    q.add("ns/a", t0 + 1s);
    q.add("ns/a", t0 + 2s); // still one pending re-run
    CHECK(q.depth() == 0);
    CHECK_FALSE(q.pop(t0 + 2s));
    q.done("ns/a", t0 + 5s);
    CHECK_FALSE(q.is_processing("ns/a"));
    CHECK(q.depth() == 1);
    REQUIRE(q.pop(t0 + 7s) == "ns/a");
    // Its queue time starts when processing finished, not at the add.
    CHECK(q.processing("ns/a")->started_at - q.processing("ns/a")->ready_at == 2s);
    q.done("ns/a", t0 + 8s);
    CHECK_FALSE(q.pop(t0 + 8s)); // not dirty this time: nothing comes back
    CHECK(q.adds_total() == 2);
}

TEST_CASE("done for a key that is not processing changes nothing") {
    runtime::work_queue q;
    q.add("ns/a", t0);
    q.done("ns/a", t0);
    CHECK(q.depth() == 1);
    CHECK(drain(q, t0).size() == 1);
}

TEST_CASE("add_after: ready at the deadline, earliest wins, next_deadline follows") {
    runtime::work_queue q;
    CHECK_FALSE(q.next_deadline());
    q.add_after("ns/a", 10s, t0);
    q.add_after("ns/a", 30s, t0); // later: ignored
    q.add_after("ns/b", 5s, t0);
    q.add_after("ns/b", 3s, t0 + 1s); // earlier (t0+4s): wins
    CHECK(q.delayed() == 2);
    CHECK(q.next_deadline() == t0 + 4s);
    CHECK_FALSE(q.pop(t0 + 3s));
    REQUIRE(q.pop(t0 + 4s) == "ns/b");
    CHECK(q.next_deadline() == t0 + 10s);
    CHECK_FALSE(q.pop(t0 + 9s));
    REQUIRE(q.pop(t0 + 12s) == "ns/a");
    // Queue time counts from the deadline, not from when pop noticed.
    CHECK(q.processing("ns/a")->ready_at == t0 + 10s);
    CHECK(q.processing("ns/a")->started_at == t0 + 12s);
    CHECK_FALSE(q.next_deadline());
    CHECK_FALSE(q.pop(t0 + 100s)); // the later add_after was absorbed
}

TEST_CASE("add_after with no delay adds at once; due keys keep deadline order") {
    runtime::work_queue q;
    q.add_after("ns/a", 0s, t0);
    CHECK(q.depth() == 1);
    q.add_after("ns/c", 3s, t0);
    q.add_after("ns/b", 2s, t0);
    q.add_after("ns/d", 2s, t0); // same deadline as b: after b
    q.add("ns/e", t0 + 5s);
    CHECK(drain(q, t0 + 5s) == std::vector<std::string>{"ns/a", "ns/b", "ns/d", "ns/c", "ns/e"});
}

TEST_CASE("an immediate add does not cancel a pending delayed add (client-go semantics)") {
    runtime::work_queue q;
    q.add_after("ns/a", 10s, t0);
    q.add("ns/a", t0);
    REQUIRE(q.pop(t0) == "ns/a");
    q.done("ns/a", t0 + 1s);
    CHECK_FALSE(q.pop(t0 + 1s));
    CHECK(q.pop(t0 + 10s) == "ns/a");
}

TEST_CASE("a delayed key due while the key is processing waits for done") {
    runtime::work_queue q;
    q.add("ns/a", t0);
    REQUIRE(q.pop(t0) == "ns/a");
    q.add_after("ns/a", 1s, t0);
    CHECK_FALSE(q.pop(t0 + 2s));
    q.done("ns/a", t0 + 3s);
    CHECK(q.pop(t0 + 3s) == "ns/a");
}

TEST_CASE("rate-limited adds back off exponentially per key, cap, and reset on forget") {
    runtime::work_queue q;
    CHECK(q.add_rate_limited("ns/a", t0) == 5ms);
    CHECK(q.add_rate_limited("ns/a", t0) == 10ms);
    CHECK(q.add_rate_limited("ns/a", t0) == 20ms);
    CHECK(q.add_rate_limited("ns/b", t0) == 5ms); // per key
    CHECK(q.num_requeues("ns/a") == 3);
    CHECK(q.retries_total() == 4);
    CHECK(q.next_deadline() == t0 + 5ms); // the first add_after for ns/a is the earliest
    for (int i = 0; i < 30; ++i)
        (void)q.add_rate_limited("ns/a", t0);
    CHECK(q.add_rate_limited("ns/a", t0) == 1000s);
    q.forget("ns/a");
    CHECK(q.num_requeues("ns/a") == 0);
    CHECK(q.add_rate_limited("ns/a", t0) == 5ms);
    CHECK(drain(q, t0 + 5ms) == std::vector<std::string>{"ns/a", "ns/b"});
}

TEST_CASE("a rate-limited add waits at least as long as the server asked (Retry-After)") {
    runtime::work_queue q;
    CHECK(q.add_rate_limited("ns/a", t0, 2s) == 2s);
    CHECK(q.num_requeues("ns/a") == 1); // the backoff still counts the failure
    CHECK(q.add_rate_limited("ns/a", t0, 1ms) == 10ms);
    CHECK(q.next_deadline() == t0 + 10ms);
    CHECK(drain(q, t0 + 9ms).empty());
    CHECK(drain(q, t0 + 10ms) == std::vector<std::string>{"ns/a"});
    runtime::work_queue fresh;
    (void)fresh.add_rate_limited("ns/b", t0, 2s);
    CHECK(drain(fresh, t0 + 1999ms).empty());
    CHECK(drain(fresh, t0 + 2s) == std::vector<std::string>{"ns/b"});
}

TEST_CASE("a custom rate limit") {
    runtime::work_queue q(runtime::work_queue_config{{1s, 4s, 3.0, 0.0, 0s}});
    CHECK(q.add_rate_limited("k", t0) == 1s);
    CHECK(q.add_rate_limited("k", t0) == 3s);
    CHECK(q.add_rate_limited("k", t0) == 4s);
}

TEST_CASE("unfinished work and the longest running key") {
    runtime::work_queue q;
    q.add("ns/a", t0);
    q.add("ns/b", t0);
    (void)q.pop(t0);
    (void)q.pop(t0 + 4s);
    CHECK(q.unfinished_work(t0 + 10s) == 16s);
    CHECK(q.longest_running(t0 + 10s) == 10s);
    q.done("ns/a", t0 + 10s);
    CHECK(q.longest_running(t0 + 10s) == 6s);
    CHECK(q.processing("ns/a") == nullptr);
}

TEST_CASE("shut_down: pop returns nothing more and adds are ignored") {
    runtime::work_queue q;
    q.add("ns/a", t0);
    q.add("ns/b", t0);
    q.add_after("ns/c", 1s, t0);
    REQUIRE(q.pop(t0) == "ns/a");
    q.add("ns/a", t0); // dirty
    q.shut_down();
    CHECK(q.shutting_down());
    CHECK_FALSE(q.pop(t0 + 1h));
    q.add("ns/d", t0);
    q.add_after("ns/e", 1s, t0);
    (void)q.add_rate_limited("ns/f", t0);
    CHECK(q.depth() == 0);
    CHECK_FALSE(q.next_deadline());
    q.done("ns/a", t0 + 1s); // a worker finishing after shutdown is fine
    CHECK_FALSE(q.is_processing("ns/a"));
    CHECK_FALSE(q.pop(t0 + 2s));
}
