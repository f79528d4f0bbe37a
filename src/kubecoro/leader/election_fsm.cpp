#include <kubecoro/core/errc.hpp>
#include <kubecoro/leader/election_fsm.hpp>

#include <algorithm>

namespace kubecoro::leader {

bool lease_record::same_spec(const lease_record& o) const {
    return holder_identity == o.holder_identity && lease_duration_seconds == o.lease_duration_seconds &&
           acquire_time == o.acquire_time && renew_time == o.renew_time &&
           lease_transitions == o.lease_transitions;
}

core::result<void> validate(const election_config& cfg) {
    if (cfg.identity.empty())
        return core::fail(core::errc::invalid_argument, "leader election: identity is empty");
    if (cfg.retry_period <= std::chrono::steady_clock::duration::zero())
        return core::fail(core::errc::invalid_argument, "leader election: retry period must be positive");
    if (cfg.lease_duration <= cfg.renew_deadline)
        return core::fail(core::errc::invalid_argument,
                          "leader election: lease duration must be greater than the renew deadline");
    // client-go's JitterFactor: a renewal must fit at least one retry with jitter.
    if (cfg.renew_deadline <= cfg.retry_period * 6 / 5)
        return core::fail(core::errc::invalid_argument,
                          "leader election: renew deadline must be greater than 1.2 x retry period");
    if (cfg.lease_duration < 1s)
        return core::fail(core::errc::invalid_argument, "leader election: lease duration under 1 s");
    return {};
}

election_fsm::election_fsm(election_config cfg)
    : cfg_(std::move(cfg)) {}

std::string_view election_fsm::leader_identity() const {
    return observed_ ? std::string_view(observed_->holder_identity) : std::string_view();
}

action election_fsm::read() {
    pending_ = pending::read;
    return action{action_type::read};
}

action election_fsm::write(action_type type, lease_record record, pending p) {
    pending_ = p;
    writing_ = record;
    return action{type, notice::none, std::move(record)};
}

action election_fsm::wait(std::chrono::steady_clock::time_point until, notice event) {
    pending_ = pending::none;
    return action{action_type::wait, event, {}, until};
}

action election_fsm::stop(notice event) {
    phase_ = phase::stopped;
    pending_ = pending::none;
    renew_by_.reset();
    return action{action_type::stop, event};
}

action election_fsm::start(instant) {
    if (phase_ == phase::stopped)
        return stop(notice::none);
    return read();
}

bool election_fsm::held_by_other(instant now) const {
    if (!observed_ || observed_->holder_identity.empty() || observed_->holder_identity == cfg_.identity)
        return false;
    // The holder's own duration: a released lease (1 s) can be taken almost at once.
    std::chrono::steady_clock::duration d = observed_->lease_duration_seconds > 0
                                                ? std::chrono::seconds(observed_->lease_duration_seconds)
                                                : cfg_.lease_duration;
    return observed_time_ + d > now.steady;
}

// The record that acquires or renews the lease, on top of what we observed.
lease_record election_fsm::our_record(instant now) const {
    lease_record r;
    r.holder_identity = cfg_.identity;
    r.lease_duration_seconds =
        static_cast<int>(std::chrono::ceil<std::chrono::seconds>(cfg_.lease_duration).count());
    r.renew_time = now.wall;
    r.acquire_time = now.wall;
    if (observed_) {
        r.resource_version = observed_->resource_version;
        if (observed_->holder_identity == cfg_.identity) {
            r.acquire_time = observed_->acquire_time.value_or(now.wall);
            r.lease_transitions = observed_->lease_transitions;
        } else {
            r.lease_transitions = observed_->lease_transitions + 1;
        }
    }
    return r;
}

action election_fsm::on_timer(instant now) {
    if (phase_ == phase::stopped)
        return stop(notice::none);
    if (phase_ == phase::follower)
        return read();
    if (!renew_by_)
        renew_by_ = now.steady + cfg_.renew_deadline;
    else if (now.steady >= *renew_by_)
        return stop(notice::lost_leadership);
    // Fast path (client-go >= 1.27): while our lease is surely still ours, renew without reading.
    bool ours =
        observed_ && observed_->holder_identity == cfg_.identity && !observed_->resource_version.empty();
    if (ours && observed_time_ + cfg_.lease_duration > now.steady) {
        fast_path_ = true;
        return write(action_type::update, our_record(now), pending::update);
    }
    return read();
}

action election_fsm::on_read(instant now, std::optional<lease_record> lease) {
    if (phase_ == phase::stopped)
        return stop(notice::none);
    fast_path_ = false;
    if (!lease) {
        // A leader whose lease was deleted recreates it like anyone else: the create decides.
        lease_record r = our_record(now);
        r.acquire_time = now.wall;
        r.lease_transitions = 0;
        r.resource_version.clear();
        return write(action_type::create, std::move(r), pending::create);
    }
    if (!observed_ || !observed_->same_spec(*lease)) {
        observed_ = std::move(*lease);
        observed_time_ = now.steady;
    } else {
        observed_->resource_version = lease->resource_version;
    }
    if (phase_ == phase::leader && observed_->holder_identity != cfg_.identity)
        return stop(notice::lost_leadership);
    if (held_by_other(now))
        return wait(now.steady + cfg_.retry_period);
    return write(action_type::update, our_record(now), pending::update);
}

action election_fsm::on_read_error(instant now) {
    if (phase_ == phase::stopped)
        return stop(notice::none);
    return attempt_failed(now);
}

action election_fsm::attempt_failed(instant now) {
    fast_path_ = false;
    if (phase_ == phase::follower)
        return wait(now.steady + cfg_.retry_period);
    if (!renew_by_)
        renew_by_ = now.steady + cfg_.renew_deadline;
    if (now.steady >= *renew_by_)
        return stop(notice::lost_leadership);
    return wait(std::min(now.steady + cfg_.retry_period, *renew_by_));
}

action election_fsm::on_write(instant now, write_outcome outcome, std::string resource_version) {
    if (phase_ == phase::stopped)
        return stop(notice::none);
    if (pending_ == pending::release) {
        if (outcome == write_outcome::ok) {
            observed_ = writing_;
            observed_->resource_version = std::move(resource_version);
            observed_time_ = now.steady;
        }
        // Whether or not the write landed, we stop: the lease expires on its own otherwise.
        return stop(notice::released);
    }
    if (outcome != write_outcome::ok) {
        // A failed optimistic renewal falls back to reading the lease at once.
        if (fast_path_) {
            fast_path_ = false;
            return read();
        }
        return attempt_failed(now);
    }
    fast_path_ = false;
    observed_ = writing_;
    observed_->resource_version = std::move(resource_version);
    observed_time_ = now.steady;
    renew_by_.reset();
    // A renewal that lands, even one in flight past renew_by_, is safe: the resourceVersion
    // precondition means nobody else wrote the lease since our last write.
    if (phase_ == phase::leader)
        return wait(now.steady + cfg_.retry_period);
    phase_ = phase::leader;
    return wait(now.steady + cfg_.retry_period, notice::became_leader);
}

action election_fsm::release(instant now) {
    if (phase_ != phase::leader || !observed_ || observed_->holder_identity != cfg_.identity)
        return stop(phase_ == phase::leader ? notice::released : notice::none);
    lease_record r;
    r.lease_duration_seconds = 1;
    r.acquire_time = now.wall;
    r.renew_time = now.wall;
    r.lease_transitions = observed_->lease_transitions;
    r.resource_version = observed_->resource_version;
    return write(action_type::update, std::move(r), pending::release);
}

} // namespace kubecoro::leader
