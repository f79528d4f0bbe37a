// Client-side rate limiting of API requests: a token bucket refilled at `qps` up to `burst`.
// No I/O and no clock of its own: callers pass the time and sleep for what reserve() returns.
#pragma once

#include <chrono>

namespace kubecoro::client {

class rate_limiter {
public:
    using clock = std::chrono::steady_clock;

    // qps <= 0 turns limiting off; burst < 1 counts as 1. The bucket starts full.
    rate_limiter(double qps, int burst, clock::time_point now);

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
};

} // namespace kubecoro::client
