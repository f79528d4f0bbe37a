// Client-side rate limiting of API requests: a token bucket refilled at `qps` up to `burst`.
// No I/O and no clock of its own: callers pass the time and sleep for what reserve() returns.
// Waits end on a grid of `tick` (counted from construction): callers whose tokens fall due within
// one tick all wake at its end, so a throttled client wakes once per tick, not once per request,
// and handles their answers together. A wait is never shorter than the bucket's own.
#pragma once

#include <chrono>

namespace kubecoro::client {

class rate_limiter {
public:
    using clock = std::chrono::steady_clock;

    // qps <= 0 turns limiting off; burst < 1 counts as 1; tick <= 0: every wait exact. The bucket
    // starts full.
    rate_limiter(double qps, int burst, clock::time_point now, clock::duration tick = {});

    // Takes a token: how long the caller must wait before sending (zero when one was available).
    // Tokens may be taken ahead of time, so concurrent callers are spaced out in call order.
    clock::duration reserve(clock::time_point now);

    bool enabled() const noexcept { return qps_ > 0; }
    // Tokens available at `now` (negative when callers are queued).
    double tokens(clock::time_point now) const noexcept;

private:
    double qps_;
    double burst_;
    double tokens_;
    clock::time_point last_;
    clock::time_point origin_;
    clock::duration tick_;
};

} // namespace kubecoro::client
