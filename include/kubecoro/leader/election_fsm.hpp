// Lease-based leader election with client-go's semantics, as a state machine without I/O. The
// driver executes each action and feeds the outcome back:
//
//   read   -> GET the Lease; on_read(now, lease or nullopt for 404) or on_read_error(now)
//   create -> POST action.record;          on_write(now, outcome, new resourceVersion)
//   update -> PUT action.record (its resource_version is the precondition); on_write(...)
//   wait   -> sleep until action.until;    on_timer(now)
//   stop   -> the election is over (lost leadership or released)
//
// action.event reports a leadership change to act on before executing the action.
//
// Expiry is judged by local observation, as client-go does: a lease held by someone else is
// expired when its record has not changed for leaseDurationSeconds since we first saw it in that
// state. Remote timestamps are written but never trusted, so clock skew between nodes is harmless.
#pragma once

#include <kubecoro/core/result.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace kubecoro::leader {

using namespace std::chrono_literals;

// coordination.k8s.io/v1 Lease: spec fields and metadata.resourceVersion.
struct lease_record {
    std::string holder_identity;
    int lease_duration_seconds = 0;
    std::optional<std::chrono::system_clock::time_point> acquire_time;
    std::optional<std::chrono::system_clock::time_point> renew_time;
    int lease_transitions = 0;
    std::string resource_version;

    // Equal spec fields (resource_version aside): whether the holder did anything.
    bool same_spec(const lease_record& o) const;
    bool operator==(const lease_record&) const = default;
};

struct election_config {
    std::string identity; // unique per process, e.g. "<pod name>_<random>"
    std::chrono::steady_clock::duration lease_duration = 15s;
    std::chrono::steady_clock::duration renew_deadline = 10s;
    std::chrono::steady_clock::duration retry_period = 2s;
};

// client-go's rules: identity set, lease_duration > renew_deadline > 1.2 * retry_period > 0.
core::result<void> validate(const election_config& cfg);

// A reading of both clocks: the steady one decides, the wall one is written into the record.
struct instant {
    std::chrono::steady_clock::time_point steady;
    std::chrono::system_clock::time_point wall;
};

enum class action_type { read, create, update, wait, stop };
enum class notice { none, became_leader, lost_leadership, released };
enum class write_outcome { ok, conflict, error };

struct action {
    action_type type = action_type::stop;
    notice event = notice::none;
    lease_record record;                         // create, update
    std::chrono::steady_clock::time_point until; // wait
};

class election_fsm {
public:
    // cfg should pass validate().
    explicit election_fsm(election_config cfg);

    action start(instant now);
    action on_timer(instant now);
    action on_read(instant now, std::optional<lease_record> lease);
    action on_read_error(instant now);
    // resource_version: the stored object's, for ok.
    action on_write(instant now, write_outcome outcome, std::string resource_version = {});
    // Gives the lease up (ReleaseOnCancel): an update that empties the holder and sets
    // leaseDurationSeconds=1 when we lead, then stop with notice::released; a plain stop otherwise.
    action release(instant now);

    bool is_leader() const { return phase_ == phase::leader; }
    bool stopped() const { return phase_ == phase::stopped; }
    // The last lease we saw or wrote.
    const std::optional<lease_record>& observed() const { return observed_; }
    // Who holds the lease as far as we know ("" when nobody).
    std::string_view leader_identity() const;
    const election_config& config() const { return cfg_; }

private:
    enum class phase { follower, leader, stopped };
    enum class pending { none, read, create, update, release };

    action read();
    action write(action_type type, lease_record record, pending p);
    action wait(std::chrono::steady_clock::time_point until, notice event = notice::none);
    action stop(notice event);
    action attempt_failed(instant now);
    bool held_by_other(instant now) const;
    lease_record our_record(instant now) const;

    election_config cfg_;
    phase phase_ = phase::follower;
    pending pending_ = pending::none;
    bool fast_path_ = false; // the pending update was a renewal without a read first
    lease_record writing_;   // the record of the pending write
    std::optional<lease_record> observed_;
    std::chrono::steady_clock::time_point observed_time_;
    // While leading: the renewal attempts that began at a timer must succeed before this.
    std::optional<std::chrono::steady_clock::time_point> renew_by_;
};

} // namespace kubecoro::leader
