#include <kubecoro/api/errc.hpp>
#include <kubecoro/core/errc.hpp>
#include <kubecoro/runtime/watcher_fsm.hpp>

namespace kubecoro::runtime {

watcher_fsm::watcher_fsm(core::backoff_config backoff, std::uint64_t seed)
    : backoff_(backoff, seed) {}

watcher_action watcher_fsm::next(clock::time_point now) {
    if (state_ == watcher_state::backoff) {
        if (now < backoff_until_)
            return {watcher_action::type::sleep, {}, {}, backoff_until_};
        state_ = resume_;
    }
    if (state_ == watcher_state::initial)
        state_ = watcher_state::listing;
    if (state_ == watcher_state::listing)
        return {watcher_action::type::list, continue_token_, {}, {}};
    return {watcher_action::type::watch, {}, resource_version_, {}};
}

bool watcher_fsm::on_page(std::string resource_version, std::string continue_token) {
    if (!continue_token.empty()) {
        continue_token_ = std::move(continue_token);
        return false;
    }
    continue_token_.clear();
    resource_version_ = std::move(resource_version);
    state_ = watcher_state::watching;
    listed_ = true;
    return true;
}

void watcher_fsm::on_event(std::string resource_version) {
    if (!resource_version.empty())
        resource_version_ = std::move(resource_version);
    // The stream works: the next failure starts the backoff over (kube-rs resets on any event).
    backoff_.reset();
}

void watcher_fsm::on_watch_ended() {}

void watcher_fsm::relist() {
    continue_token_.clear();
    resource_version_.clear();
}

void watcher_fsm::on_error(const core::error& e, clock::time_point now) {
    bool gone = e.code == api::errc::gone;
    if (gone && state_ == watcher_state::watching) {
        // The version we watch from was compacted away: only a fresh list can continue.
        relist();
        state_ = watcher_state::listing;
        return;
    }
    // A watch silent for the idle timeout is not the server failing: watch again at once from the
    // same version (a server that hangs is then asked again once per idle timeout, no more).
    if (e.code == core::errc::timeout && state_ == watcher_state::watching)
        return;
    if (gone)
        relist(); // an expired continue token: start the list over, but not in a tight loop
    if (state_ != watcher_state::backoff)
        resume_ = state_ == watcher_state::watching ? watcher_state::watching : watcher_state::listing;
    last_delay_ = backoff_.next(now);
    if (e.retry_after > last_delay_)
        last_delay_ = e.retry_after;
    backoff_until_ = now + last_delay_;
    state_ = watcher_state::backoff;
}

} // namespace kubecoro::runtime
