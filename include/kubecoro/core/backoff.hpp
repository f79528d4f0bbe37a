// Exponential backoff with jitter. Pure: time comes in as parameters, randomness from a seeded
// engine, so tests replay exact delays.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

namespace kubecoro::core {

using namespace std::chrono_literals;

struct backoff_config {
    std::chrono::steady_clock::duration base = 800ms; // the first delay
    std::chrono::steady_clock::duration max = 30s;    // no delay is longer
    double factor = 2.0;                              // growth per consecutive failure
    // Fraction in [0, 1]: each delay is drawn uniformly from [(1 - jitter) * d, d], so jitter
    // spreads retries out without ever exceeding `max`.
    double jitter = 0.0;
    // A failure after this long without failures starts again at `base`; 0: never.
    std::chrono::steady_clock::duration reset_after = 0s;
};

// The watcher's reconnect backoff (kube-rs's defaults): 0.8 s to 30 s, reset after 2 min quiet.
inline constexpr backoff_config watcher_backoff{800ms, 30s, 2.0, 0.5, 120s};
// The work queue's per-key backoff (client-go's defaults): 5 ms to 1000 s, no jitter.
inline constexpr backoff_config per_key_backoff{5ms, 1000s, 2.0, 0.0, 0s};

// base * factor^attempt, capped at max, without jitter (attempt 0 is the first failure).
std::chrono::steady_clock::duration exponential_delay(const backoff_config& cfg, unsigned attempt);

class backoff {
public:
    using clock = std::chrono::steady_clock;

    explicit backoff(backoff_config cfg, std::uint64_t seed = std::random_device{}());

    // Records a failure at `now` and returns how long to wait before trying again.
    clock::duration next(clock::time_point now);
    // Starts over at `base` (e.g. after a success the caller trusts).
    void reset();
    // Consecutive failures counted so far.
    unsigned attempts() const { return attempts_; }
    const backoff_config& config() const { return cfg_; }

private:
    backoff_config cfg_;
    std::mt19937_64 rng_;
    unsigned attempts_ = 0;
    // When the last delay ended: the quiet period is measured from there, not from the failure,
    // so a long sleep does not count as time without errors.
    std::optional<clock::time_point> quiet_since_;
};

} // namespace kubecoro::core
