#include <kubecoro/core/backoff.hpp>

#include <doctest/doctest.h>

#include <chrono>

using namespace kubecoro;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

TEST_CASE("exponential_delay doubles from base and saturates at max") {
    core::backoff_config cfg{5ms, 1000s, 2.0, 0.0, 0s};
    CHECK(core::exponential_delay(cfg, 0) == 5ms);
    CHECK(core::exponential_delay(cfg, 1) == 10ms);
    CHECK(core::exponential_delay(cfg, 10) == 5120ms);
    CHECK(core::exponential_delay(cfg, 17) == 655360ms);
    CHECK(core::exponential_delay(cfg, 18) == 1000s);
    CHECK(core::exponential_delay(cfg, 5000) == 1000s); // pow overflows to inf: still the cap
}

TEST_CASE("backoff without jitter grows, caps and resets") {
    core::backoff b({100ms, 1s, 2.0, 0.0, 0s}, 1);
    auto t = clock_type::time_point{};
    CHECK(b.next(t) == 100ms);
    CHECK(b.next(t) == 200ms);
    CHECK(b.next(t) == 400ms);
    CHECK(b.next(t) == 800ms);
    CHECK(b.next(t) == 1s);
    CHECK(b.next(t) == 1s);
    CHECK(b.attempts() == 6);
    b.reset();
    CHECK(b.attempts() == 0);
    CHECK(b.next(t) == 100ms);
}

TEST_CASE("jitter stays within [(1 - jitter) * d, d] and is reproducible by seed") {
    core::backoff_config cfg{1s, 8s, 2.0, 0.5, 0s};
    core::backoff a(cfg, 42);
    core::backoff b(cfg, 42);
    auto t = clock_type::time_point{};
    bool varied = false;
    for (int i = 0; i < 50; ++i) {
        auto nominal = core::exponential_delay(cfg, static_cast<unsigned>(i));
        auto d = a.next(t);
        CHECK(d == b.next(t));
        CHECK(d <= nominal);
        CHECK(d >= nominal / 2);
        varied = varied || d != nominal;
    }
    CHECK(varied);
}

TEST_CASE("a failure after a quiet period starts over at base") {
    core::backoff b({800ms, 30s, 2.0, 0.0, 120s}, 1);
    auto t = clock_type::time_point{} + 1h;
    CHECK(b.next(t) == 800ms);
    t += 800ms + 10s; // the retry ran 10 s before failing again: not quiet long enough
    CHECK(b.next(t) == 1600ms);
    t += 1600ms + 119s;
    CHECK(b.next(t) == 3200ms);
    t += 3200ms + 120s; // two minutes without errors since the last delay ended
    CHECK(b.next(t) == 800ms);
    CHECK(b.attempts() == 1);
}

TEST_CASE("the preset configurations") {
    CHECK(core::exponential_delay(core::per_key_backoff, 0) == 5ms);
    CHECK(core::exponential_delay(core::per_key_backoff, 30) == 1000s);
    CHECK(core::exponential_delay(core::watcher_backoff, 0) == 800ms);
    CHECK(core::exponential_delay(core::watcher_backoff, 6) == 30s);
    core::backoff w(core::watcher_backoff, 7);
    auto d = w.next(clock_type::time_point{});
    CHECK(d <= 800ms);
    CHECK(d >= 400ms);
}
