#include <kubecoro/api/errc.hpp>
#include <kubecoro/core/errc.hpp>
#include <kubecoro/leader/elector.hpp>
#include <kubecoro/leader/lease.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <system_error>
#include <unistd.h>
#include <utility>
#include <variant>

namespace kubecoro::leader {
namespace {

using namespace awaitable_operators;
using duration = std::chrono::steady_clock::duration;

instant now() {
    return {std::chrono::steady_clock::now(), std::chrono::system_clock::now()};
}

std::string hostname() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0')
        return "localhost";
    return buf;
}

std::string millis(duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + "ms";
}

// The API call, given up after `limit`.
awaitable<core::result<json::value>>
bounded(awaitable<core::result<json::value>> call, duration limit, std::string what) {
    auto r = co_await (std::move(call) || sleep_for(limit));
    if (r.index() == 0)
        co_return std::move(std::get<0>(r));
    if (!std::get<1>(r))
        co_return core::fail(core::errc::cancelled, what + " cancelled");
    co_return core::fail(core::errc::timeout, what + " timed out after " + millis(limit));
}

bool is_conflict(const core::error& e) {
    return e.code == api::errc::conflict || e.code == api::errc::already_exists;
}

std::string resource_version(const json::value& lease) {
    const json::value* rv = lease.at("metadata", "resourceVersion");
    return rv ? rv->string_or("") : std::string();
}

core::failure cancelled() {
    return core::fail(core::errc::cancelled, "leader election cancelled");
}

} // namespace

std::string default_identity() {
    std::random_device rd;
    auto v = (static_cast<std::uint64_t>(rd()) << 32) | rd();
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(v));
    return hostname() + "_" + hex;
}

core::result<std::unique_ptr<elector>>
elector::create(std::shared_ptr<client::client> client, elector_config cfg, log::logger logger) {
    if (!client)
        return core::fail(core::errc::invalid_argument, "leader election: no API client");
    if (cfg.namespace_.empty() || cfg.name.empty())
        return core::fail(core::errc::invalid_argument,
                          "leader election: the Lease namespace and name must be set");
    if (!(cfg.retry_jitter >= 0 && cfg.retry_jitter < 1))
        return core::fail(core::errc::invalid_argument, "leader election: retry jitter must be in [0, 1)");
    if (cfg.request_timeout <= duration::zero())
        return core::fail(core::errc::invalid_argument, "leader election: request timeout must be positive");
    if (cfg.identity.empty())
        cfg.identity = default_identity();
    if (auto v =
            validate(election_config{cfg.identity, cfg.lease_duration, cfg.renew_deadline, cfg.retry_period});
        !v)
        return core::fail(std::move(v).error());
    return std::unique_ptr<elector>(new elector(std::move(client), std::move(cfg), std::move(logger)));
}

elector::elector(std::shared_ptr<client::client> client, elector_config cfg, log::logger logger)
    : client_(std::move(client))
    , cfg_(std::move(cfg))
    , log_(logger.named("leader").with(
          {{"lease", cfg_.namespace_ + "/" + cfg_.name}, {"identity", cfg_.identity}}))
    , fsm_(election_config{cfg_.identity, cfg_.lease_duration, cfg_.renew_deadline, cfg_.retry_period})
    , rng_(std::random_device{}()) {}

bool elector::may_write(std::chrono::steady_clock::time_point at) const {
    return fsm_.is_leader() && renewed_ && at < *renewed_ + cfg_.renew_deadline;
}

awaitable<core::result<void>> elector::acquire() {
    return run(goal::lead);
}

awaitable<core::result<void>> elector::hold() {
    return run(goal::lose);
}

awaitable<core::result<void>> elector::run(goal g) {
    try {
        if (g == goal::lead && fsm_.is_leader())
            co_return core::result<void>{};
        if (g == goal::lose && !fsm_.is_leader())
            co_return core::fail(errc::not_leader, "lease " + cfg_.name + " is not held by " + cfg_.identity);
        if (fsm_.stopped())
            co_return core::fail(errc::election_over, "the election for lease " + cfg_.name + " is over");
        if (!next_)
            next_ = fsm_.start(now());
        for (;;) {
            if (next_->event == notice::became_leader) {
                next_->event = notice::none;
                renew_by_.reset();
                holder_ = cfg_.identity;
                log_.info("became leader");
                if (g == goal::lead)
                    co_return core::result<void>{};
            }
            if (next_->event == notice::lost_leadership ||
                (next_->type == action_type::stop && g == goal::lose)) {
                next_->event = notice::none;
                renew_by_.reset();
                std::string holder(fsm_.leader_identity());
                bool taken = !holder.empty() && holder != cfg_.identity;
                log_.info(
                    "lost leadership",
                    {{"reason", taken ? "another holder" : "renew deadline passed"}, {"holder", holder}});
                co_return core::fail(errc::lost_leadership,
                                     "lost leadership of lease " + cfg_.namespace_ + "/" + cfg_.name +
                                         (taken ? ": now held by " + holder : ": renew deadline passed"));
            }
            if (next_->type == action_type::stop)
                co_return core::fail(errc::election_over, "the election for lease " + cfg_.name + " is over");
            auto state = co_await asio::this_coro::cancellation_state;
            if (state.cancelled() != asio::cancellation_type::none)
                co_return cancelled();
            auto next = co_await execute(*next_);
            if (!next)
                co_return cancelled();
            next_ = std::move(*next);
        }
    } catch (const std::system_error& e) {
        // A cancellation between two operations surfaces as operation_aborted at the next co_await.
        if (e.code() != asio::error::operation_aborted)
            throw;
    }
    co_return cancelled();
}

awaitable<std::optional<action>> elector::execute(action a) {
    switch (a.type) {
    case action_type::read:
        co_return co_await read();
    case action_type::create:
    case action_type::update:
        co_return co_await write(std::move(a));
    case action_type::wait: {
        duration d = a.until - std::chrono::steady_clock::now();
        if (!fsm_.is_leader())
            d = jittered(d);
        if (d > duration::zero()) {
            bool slept = co_await sleep_for(d);
            if (!slept)
                co_return std::nullopt;
        }
        auto t = now();
        // The fsm starts the renew deadline at the first timer after a successful renewal.
        if (fsm_.is_leader() && !renew_by_)
            renew_by_ = t.steady + cfg_.renew_deadline;
        co_return fsm_.on_timer(t);
    }
    case action_type::stop:
        break;
    }
    co_return a;
}

awaitable<std::optional<action>> elector::read() {
    // While leading past the renew deadline, a call could not change the outcome.
    auto limit = call_limit();
    if (limit <= duration::zero())
        co_return fsm_.on_read_error(now());
    auto call = client_->get(lease_resource(), cfg_.namespace_, cfg_.name);
    auto r = co_await bounded(std::move(call), limit, "GET lease");
    if (!r) {
        const auto& e = r.error();
        if (e.code == core::errc::cancelled)
            co_return std::nullopt;
        if (e.code == api::errc::not_found)
            co_return fsm_.on_read(now(), std::nullopt);
        log_.warn("could not read the lease", {{"error", e}});
        co_return fsm_.on_read_error(now());
    }
    auto record = lease_from_json(*r);
    if (!record) {
        log_.warn("could not decode the lease", {{"error", record.error()}});
        co_return fsm_.on_read_error(now());
    }
    auto next = fsm_.on_read(now(), std::move(*record));
    if (std::string_view holder = fsm_.leader_identity(); holder != holder_) {
        holder_ = std::string(holder);
        if (!holder_.empty() && holder_ != cfg_.identity)
            log_.info("lease held by another", {{"holder", holder_}});
    }
    co_return next;
}

awaitable<std::optional<action>> elector::write(action a) {
    auto limit = call_limit();
    if (limit <= duration::zero())
        co_return fsm_.on_write(now(), write_outcome::error);
    bool create = a.type == action_type::create;
    const auto sent = std::chrono::steady_clock::now(); // the lease counts from no earlier than this
    auto body = lease_to_json(a.record, cfg_.namespace_, cfg_.name);
    // Named awaitables and no conditional operator around a co_await: g++ 12 miscompiles those.
    awaitable<core::result<json::value>> call;
    std::string what;
    if (create) {
        call = client_->create(lease_resource(), cfg_.namespace_, std::move(body));
        what = "create lease";
    } else {
        call = client_->replace(lease_resource(), cfg_.namespace_, cfg_.name, std::move(body));
        what = "update lease";
    }
    auto r = co_await bounded(std::move(call), limit, std::move(what));
    if (!r) {
        const auto& e = r.error();
        if (e.code == core::errc::cancelled)
            co_return std::nullopt;
        bool conflict = is_conflict(e);
        if (conflict)
            log_.debug(fsm_.is_leader() ? "lease renewal conflicted" : "lost the race for the lease",
                       {{"error", e}});
        else
            log_.warn(fsm_.is_leader() ? "could not renew the lease" : "could not take the lease",
                      {{"error", e}});
        co_return fsm_.on_write(now(), conflict ? write_outcome::conflict : write_outcome::error);
    }
    renew_by_.reset();
    auto next = fsm_.on_write(now(), write_outcome::ok, resource_version(*r));
    if (fsm_.is_leader())
        renewed_ = sent;
    co_return next;
}

awaitable<void> elector::release() {
    try {
        if (!fsm_.is_leader()) {
            next_ = fsm_.release(now());
            co_return;
        }
        auto a = fsm_.release(now());
        next_ = action{};
        renew_by_.reset();
        if (a.type != action_type::update)
            co_return;
        auto put = [this](const lease_record& r) {
            return bounded(client_->replace(lease_resource(),
                                            cfg_.namespace_,
                                            cfg_.name,
                                            lease_to_json(r, cfg_.namespace_, cfg_.name)),
                           cfg_.request_timeout,
                           "release lease");
        };
        auto r = co_await put(a.record);
        if (!r && r.error().code == api::errc::conflict) {
            // A renewal cancelled in flight may have landed after all: release the lease as it
            // is now, if it is still ours.
            auto get = client_->get(lease_resource(), cfg_.namespace_, cfg_.name);
            auto current = co_await bounded(std::move(get), cfg_.request_timeout, "GET lease");
            auto record =
                current ? lease_from_json(*current) : core::result<lease_record>(core::fail(current.error()));
            if (record && record->holder_identity == cfg_.identity) {
                a.record.resource_version = record->resource_version;
                a.record.lease_transitions = record->lease_transitions;
                r = co_await put(a.record);
            }
        }
        if (r) {
            (void)fsm_.on_write(now(), write_outcome::ok, resource_version(*r));
            holder_.clear();
            log_.info("released lease");
        } else {
            (void)fsm_.on_write(now(),
                                is_conflict(r.error()) ? write_outcome::conflict : write_outcome::error);
            log_.warn("could not release the lease; it expires on its own", {{"error", r.error()}});
        }
    } catch (const std::system_error& e) {
        if (e.code() != asio::error::operation_aborted)
            throw;
        log_.warn("lease release cancelled; it expires on its own");
    }
}

duration elector::call_limit() const {
    duration limit = cfg_.request_timeout;
    if (fsm_.is_leader() && renew_by_)
        limit = std::min(limit, std::max(*renew_by_ - std::chrono::steady_clock::now(), duration::zero()));
    return limit;
}

duration elector::jittered(duration d) {
    if (d <= duration::zero() || cfg_.retry_jitter <= 0)
        return d;
    std::uniform_real_distribution<double> factor(1.0 - cfg_.retry_jitter, 1.0);
    return std::chrono::duration_cast<duration>(d * factor(rng_));
}

} // namespace kubecoro::leader
