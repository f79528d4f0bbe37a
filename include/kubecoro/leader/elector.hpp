// Lease-based leader election: the coroutine driver that executes election_fsm's actions with the
// API client. The manager uses it like this:
//
//   auto e = leader::elector::create(client, {.namespace_ = "kubecoro-system", .name = "kubecoro"});
//   if (auto r = co_await (*e)->acquire(); !r) ...   // returns once we lead
//   co_await (run_controllers() || (*e)->hold());     // hold() returns only when leadership is lost
//   co_await (*e)->release();                         // on shutdown: a standby takes over at once
//
// One task at a time drives an elector (acquire, then hold, then release), and the elector must
// outlive the awaitables it hands out (it does when they are awaited directly).
#pragma once

#include <kubecoro/client/client.hpp>
#include <kubecoro/core/asio.hpp>
#include <kubecoro/core/result.hpp>
#include <kubecoro/leader/election_fsm.hpp>
#include <kubecoro/leader/errc.hpp>
#include <kubecoro/log/log.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <string>

namespace kubecoro::leader {

using namespace std::chrono_literals;

struct elector_config {
    std::string namespace_; // of the Lease
    std::string name;       // of the Lease
    std::string identity;   // unique per process; empty: default_identity()
    std::chrono::steady_clock::duration lease_duration = 15s;
    std::chrono::steady_clock::duration renew_deadline = 10s;
    std::chrono::steady_clock::duration retry_period = 2s;
    // Each API call gives up after this long; while leading, also when the renew deadline passes.
    std::chrono::steady_clock::duration request_timeout = 5s;
    // A follower waits retry_period times a factor drawn from [1 - retry_jitter, 1]: standbys
    // spread out, and none waits longer than retry_period (failover stays within bounds).
    double retry_jitter = 0.2;
};

// "<hostname>_<16 random hex digits>".
std::string default_identity();

class elector {
public:
    // Fails with core::errc::invalid_argument on an unusable configuration (validate()'s rules,
    // a namespace and a name, retry_jitter in [0, 1), a positive request timeout). No I/O.
    static core::result<std::unique_ptr<elector>> create(std::shared_ptr<client::client> client,
                                                         elector_config cfg,
                                                         log::logger logger = log::default_logger());

    elector(const elector&) = delete;
    elector& operator=(const elector&) = delete;

    // Returns once we lead (at once when we already do). Fails with core::errc::cancelled when
    // cancelled, or errc::election_over after release().
    awaitable<core::result<void>> acquire();

    // Keeps renewing the lease while we lead. Returns only when leadership is lost: with
    // errc::lost_leadership as soon as the renew deadline passes without a successful renewal or
    // another holder is observed (core::errc::cancelled when cancelled; errc::not_leader when
    // called without leading).
    awaitable<core::result<void>> hold();

    // Best effort, when we lead: writes the lease with no holder and leaseDurationSeconds=1, so a
    // standby takes over at once. Ends the election either way (acquire() fails afterwards). Call
    // it after hold() has returned or was cancelled, not while it runs.
    awaitable<void> release();

    bool is_leader() const { return fsm_.is_leader(); }
    // Whether this process may still act as the leader at `at`: we lead and our last successful
    // acquisition or renewal was sent less than renew_deadline before. Standbys wait out the
    // whole lease duration from when they see that write, so nobody else can lead yet. A process
    // that was frozen (SIGSTOP, a stalled VM) past that point must not write before it learns
    // whether it still leads: the manager fences the controllers' writes with this.
    bool may_write(std::chrono::steady_clock::time_point at) const;
    std::string identity() const { return cfg_.identity; }
    // Who holds the lease as far as we know ("" when nobody or not yet known).
    std::string leader_identity() const { return std::string(fsm_.leader_identity()); }
    const elector_config& config() const { return cfg_; }

private:
    enum class goal { lead, lose };

    elector(std::shared_ptr<client::client> client, elector_config cfg, log::logger logger);

    awaitable<core::result<void>> run(goal g);
    // Execute one action each and return the next one; nullopt when cancelled.
    awaitable<std::optional<action>> execute(action a);
    awaitable<std::optional<action>> read();
    awaitable<std::optional<action>> write(action a);
    // How long the next API call may take.
    std::chrono::steady_clock::duration call_limit() const;
    std::chrono::steady_clock::duration jittered(std::chrono::steady_clock::duration d);

    std::shared_ptr<client::client> client_;
    elector_config cfg_;
    log::logger log_;
    election_fsm fsm_;
    std::optional<action> next_; // the action to execute next (nullopt: not started)
    // While leading: when the renewal attempts that began at the last timer must have succeeded,
    // mirroring the fsm's deadline so that no call runs past it.
    std::optional<std::chrono::steady_clock::time_point> renew_by_;
    // When the last successful acquisition or renewal was sent (nullopt: none since leading).
    std::optional<std::chrono::steady_clock::time_point> renewed_;
    std::string holder_; // the last holder logged
    std::mt19937_64 rng_;
};

} // namespace kubecoro::leader
