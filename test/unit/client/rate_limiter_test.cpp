#include <kubecoro/client/rate_limiter.hpp>

#include <doctest/doctest.h>

using kubecoro::client::rate_limiter;
using namespace std::chrono_literals;

TEST_CASE("rate_limiter lets a burst through, then spaces callers at 1/qps") {
    const rate_limiter::clock::time_point t0{};
    rate_limiter rl(10, 3, t0);
    CHECK(rl.reserve(t0) == 0ms);
    CHECK(rl.reserve(t0) == 0ms);
    CHECK(rl.reserve(t0) == 0ms);
    // The bucket is empty: the next callers queue 100ms apart.
    CHECK(rl.reserve(t0) == 100ms);
    CHECK(rl.reserve(t0) == 200ms);
    CHECK(rl.tokens(t0) == doctest::Approx(-2));
    // 300ms later the queued tokens are paid back and one is free again.
    CHECK(rl.tokens(t0 + 300ms) == doctest::Approx(1));
    CHECK(rl.reserve(t0 + 300ms) == 0ms);
    CHECK(rl.reserve(t0 + 300ms) == 100ms);
}

TEST_CASE("rate_limiter refills up to burst only") {
    const rate_limiter::clock::time_point t0{};
    rate_limiter rl(5, 2, t0);
    CHECK(rl.reserve(t0) == 0ms);
    CHECK(rl.reserve(t0) == 0ms);
    CHECK(rl.tokens(t0 + 1h) == doctest::Approx(2));
    CHECK(rl.reserve(t0 + 1h) == 0ms);
    CHECK(rl.reserve(t0 + 1h) == 0ms);
    CHECK(rl.reserve(t0 + 1h) == 200ms);
}

TEST_CASE("rate_limiter with qps 0 is off, burst 0 counts as 1") {
    const rate_limiter::clock::time_point t0{};
    rate_limiter off(0, 0, t0);
    CHECK_FALSE(off.enabled());
    for (int i = 0; i < 1000; ++i)
        REQUIRE(off.reserve(t0) == 0ms);

    rate_limiter one(2, 0, t0);
    CHECK(one.enabled());
    CHECK(one.reserve(t0) == 0ms);
    CHECK(one.reserve(t0) == 500ms);
}

TEST_CASE("rate_limiter ignores time going backwards") {
    const rate_limiter::clock::time_point t0 = rate_limiter::clock::time_point{} + 10s;
    rate_limiter rl(1, 1, t0);
    CHECK(rl.reserve(t0) == 0ms);
    CHECK(rl.reserve(t0 - 5s) == 6s);
}

TEST_CASE("rate_limiter with a tick: waits end together at the tick's end, never early") {
    const rate_limiter::clock::time_point t0{};
    rate_limiter rl(50, 1, t0, 100ms);
    CHECK(rl.reserve(t0) == 0ms);
    // Tokens fall due at 20, 40, 60, 80 and 100ms: all five callers wake at 100ms.
    for (int i = 0; i < 5; ++i)
        CHECK(rl.reserve(t0) == 100ms);
    // The next five at 200ms, measured from the caller's own time.
    CHECK(rl.reserve(t0 + 30ms) == 170ms);
    CHECK(rl.tokens(t0 + 30ms) == doctest::Approx(-4.5));
    for (int i = 0; i < 4; ++i)
        CHECK(rl.reserve(t0 + 30ms) == 170ms);
    CHECK(rl.reserve(t0 + 30ms) == 270ms);
    // A token already there goes at once, whatever the tick.
    CHECK(rl.reserve(t0 + 10s) == 0ms);

    rate_limiter exact(50, 1, t0);
    CHECK(exact.reserve(t0) == 0ms);
    CHECK(exact.reserve(t0) == 20ms);
    CHECK(exact.reserve(t0) == 40ms);
}
