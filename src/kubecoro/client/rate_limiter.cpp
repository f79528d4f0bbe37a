#include <kubecoro/client/rate_limiter.hpp>

#include <algorithm>
#include <cmath>

namespace kubecoro::client {

rate_limiter::rate_limiter(double qps, int burst, clock::time_point now, clock::duration tick)
    : qps_(qps > 0 ? qps : 0)
    , burst_(std::max(burst, 1))
    , tokens_(burst_)
    , last_(now)
    , origin_(now)
    , tick_(std::max(tick, clock::duration::zero())) {}

double rate_limiter::tokens(clock::time_point now) const noexcept {
    if (now <= last_)
        return tokens_;
    double elapsed = std::chrono::duration<double>(now - last_).count();
    return std::min(burst_, tokens_ + elapsed * qps_);
}

rate_limiter::clock::duration rate_limiter::reserve(clock::time_point now) {
    if (!enabled())
        return clock::duration::zero();
    tokens_ = tokens(now);
    last_ = std::max(last_, now);
    tokens_ -= 1;
    if (tokens_ >= 0)
        return clock::duration::zero();
    // The token exists once the deficit has refilled, counted from the bucket's own time.
    auto ready = last_ + std::chrono::ceil<clock::duration>(std::chrono::duration<double>(-tokens_ / qps_));
    if (tick_ > clock::duration::zero() && ready > origin_) {
        auto ticks = (ready - origin_ + tick_ - clock::duration(1)) / tick_;
        ready = origin_ + ticks * tick_;
    }
    return ready - now;
}

} // namespace kubecoro::client
