#include <kubecoro/core/backoff.hpp>

#include <algorithm>
#include <cmath>

namespace kubecoro::core {

std::chrono::steady_clock::duration exponential_delay(const backoff_config& cfg, unsigned attempt) {
    using duration = std::chrono::steady_clock::duration;
    // In double, so a large attempt count saturates at max instead of overflowing.
    double d = static_cast<double>(cfg.base.count()) * std::pow(cfg.factor, static_cast<double>(attempt));
    if (!(d < static_cast<double>(cfg.max.count())))
        return cfg.max;
    return std::max(duration(static_cast<duration::rep>(d)), duration::zero());
}

backoff::backoff(backoff_config cfg, std::uint64_t seed)
    : cfg_(cfg)
    , rng_(seed) {}

backoff::clock::duration backoff::next(clock::time_point now) {
    if (cfg_.reset_after > clock::duration::zero() && quiet_since_ && now - *quiet_since_ >= cfg_.reset_after)
        attempts_ = 0;
    clock::duration d = exponential_delay(cfg_, attempts_);
    if (attempts_ < 1000) // far past any cap; keeps the counter from wrapping
        ++attempts_;
    double jitter = std::clamp(cfg_.jitter, 0.0, 1.0);
    if (jitter > 0) {
        double scale = 1.0 - jitter * std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
        d = clock::duration(static_cast<clock::duration::rep>(static_cast<double>(d.count()) * scale));
    }
    quiet_since_ = now + d;
    return d;
}

void backoff::reset() {
    attempts_ = 0;
    quiet_since_.reset();
}

} // namespace kubecoro::core
