// The watcher's protocol as a state machine without I/O (kube-rs watcher.rs): list every page,
// watch from the list's resourceVersion, watch again when the server ends the stream or it stays
// silent, relist on 410 Gone, back off (jittered, exponential, reset after a quiet period or an
// event) on any other error.
// The driver asks next(now) what to do, does it, and reports what happened.
#pragma once

#include <kubecoro/core/backoff.hpp>
#include <kubecoro/core/result.hpp>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>

namespace kubecoro::runtime {

enum class watcher_state {
    initial,  // nothing listed yet
    listing,  // fetching the pages of a (re)list
    watching, // the list is complete: watching from resource_version()
    backoff,  // waiting after an error, then back to listing or watching
};

struct watcher_action {
    enum class type {
        list,  // request the page after `continue_token` ("" = the first page)
        watch, // open a watch from `resource_version`
        sleep, // wait until `until`, then ask again
    };
    type kind = type::list;
    std::string continue_token;
    std::string resource_version;
    std::chrono::steady_clock::time_point until;
};

class watcher_fsm {
public:
    using clock = std::chrono::steady_clock;

    explicit watcher_fsm(core::backoff_config backoff = core::watcher_backoff,
                         std::uint64_t seed = std::random_device{}());

    watcher_action next(clock::time_point now);

    // A list page arrived. True when it was the last one: the driver now replaces its store with
    // the pages collected since the first, and the machine watches from `resource_version`.
    bool on_page(std::string resource_version, std::string continue_token);
    // An ADDED/MODIFIED/DELETED/BOOKMARK event: later watches resume from its resourceVersion, and
    // the backoff starts over.
    void on_event(std::string resource_version);
    // The server ended the watch cleanly (timeoutSeconds): watch again from the last version.
    void on_watch_ended();
    // A list or watch failed at `now`. 410 Gone relists at once (after a backoff when the list
    // itself was expired); a timeout while watching (no bytes for the idle timeout) watches again
    // at once; anything else waits a backoff and resumes where it was.
    void on_error(const core::error& e, clock::time_point now);

    watcher_state state() const { return state_; }
    const std::string& resource_version() const { return resource_version_; }
    // True once a list completed (the driver reports "synced").
    bool listed() const { return listed_; }
    // The delay of the current (or last) backoff.
    clock::duration last_delay() const { return last_delay_; }

private:
    void relist();

    watcher_state state_ = watcher_state::initial;
    watcher_state resume_ = watcher_state::listing; // where backoff returns to
    std::string resource_version_;
    std::string continue_token_;
    bool listed_ = false;
    core::backoff backoff_;
    clock::time_point backoff_until_;
    clock::duration last_delay_{};
};

} // namespace kubecoro::runtime
