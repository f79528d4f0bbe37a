// Kubernetes Events about the objects a controller manages: events.k8s.io/v1 where the server
// serves it (found by discovery before the first event is sent), core/v1 otherwise. Recording never
// waits: events are buffered and sent by the recorder's own coroutine; identical events within
// the aggregation window become a count increment (PATCH) of the Event already sent: `count` and
// `lastTimestamp` in core/v1, `series {count, lastObservedTime}` in events.k8s.io/v1 (as
// client-go's tools/events, whose first repeat starts the series at count 2).
#pragma once

#include <kubecoro/api/object_meta.hpp>
#include <kubecoro/api/resource.hpp>
#include <kubecoro/client/client.hpp>
#include <kubecoro/core/asio.hpp>
#include <kubecoro/core/result.hpp>
#include <kubecoro/json/value.hpp>
#include <kubecoro/log/log.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace kubecoro::runtime {

using namespace std::chrono_literals;

enum class event_type { normal, warning };

// The API the recorder posts Events to.
enum class event_api { core_v1, events_v1 };
// events.k8s.io/v1 when discovery found it served, core/v1 otherwise (also when discovery
// failed: core/v1 is served by every cluster).
event_api choose_event_api(const core::result<api::resource>& discovered);

struct involved_object {
    std::string api_version;
    std::string kind;
    std::string namespace_;
    std::string name;
    std::string uid;
    std::string resource_version;
};
involved_object involved(const api::resource& r, const api::object_meta& meta);

struct event_record {
    involved_object object;
    event_type type = event_type::normal;
    std::string reason;  // UpperCamelCase, e.g. "Created"
    std::string message; // for humans (note in events.k8s.io/v1)
    std::chrono::steady_clock::time_point seen;
    std::chrono::system_clock::time_point time;
    std::string action; // events.k8s.io/v1 action, e.g. "Reconcile"; the reason when empty
};

struct event_recorder_config {
    std::string component; // reportingComponent and source.component: the controller
    std::string instance;  // reportingInstance and source.host (e.g. the pod name); the host name
                           // when empty (events.k8s.io/v1 requires one)
    // Unsent events; beyond it the oldest is dropped. client-go's broadcaster queues 1000: a burst
    // of 1000 refused objects must not lose a quarter of their events.
    std::size_t max_pending = 1000;
    std::chrono::steady_clock::duration aggregation_window = 10min;
    std::size_t max_series = 4096; // remembered series of identical events
};

// Which Event an identical event continues. Pure.
class event_aggregator {
public:
    using clock = std::chrono::steady_clock;

    struct series {
        std::string name;
        std::string namespace_;
        std::int64_t count = 1;
        clock::time_point last_seen;
    };

    explicit event_aggregator(clock::duration window = 10min, std::size_t max_series = 4096);

    // Identical events share a key: the object, type, reason and message.
    static std::string key(const event_record& e);

    // An event of `key` occurred at `now`: the series it continues with its count incremented,
    // or nullptr when a new Event must be created.
    const series* observe(const std::string& key, clock::time_point now);
    // A new Event was created for `key`.
    void created(const std::string& key, std::string name, std::string ns, clock::time_point now);
    // The Event of `key` is gone (PATCH answered 404): the next occurrence creates a new one.
    void forget(const std::string& key);
    std::size_t size() const { return series_.size(); }

private:
    void evict(clock::time_point now);

    clock::duration window_;
    std::size_t max_series_;
    std::map<std::string, series, std::less<>> series_;
};

// The core/v1 Event for `e`, named `name`, with count 1.
json::value render_event(const event_record& e, const event_recorder_config& config, const std::string& name);
// The events.k8s.io/v1 Event for `e`, named `name`, without a series (a first occurrence).
json::value
render_events_v1_event(const event_record& e, const event_recorder_config& config, const std::string& name);
// The merge patch that records the `count`th occurrence at `time` of an Event already sent.
std::string
render_event_repeat(event_api api, std::int64_t count, std::chrono::system_clock::time_point time);

class event_recorder : public std::enable_shared_from_this<event_recorder> {
public:
    event_recorder(std::shared_ptr<client::client> client,
                   event_recorder_config config,
                   log::logger logger = {});

    // Queues an event; never waits. When the buffer is full the oldest unsent event is dropped.
    void record(const api::resource& r,
                const api::object_meta& meta,
                event_type type,
                std::string reason,
                std::string message);
    void record(event_record e);

    // Sends queued events until cancelled.
    awaitable<void> run();

    std::uint64_t dropped() const { return dropped_; }
    std::size_t pending() const { return pending_.size(); }
    // Nothing queued and nothing being sent.
    bool idle() const { return pending_.empty() && !sending_; }
    const event_recorder_config& config() const { return config_; }
    // The API chosen by run() before it sends the first event; core/v1 until then.
    event_api api() const { return api_; }

private:
    awaitable<void> choose_api();
    awaitable<void> send(event_record e);
    awaitable<bool> create(const event_record& e, const std::string& key);

    std::shared_ptr<client::client> client_;
    event_recorder_config config_;
    log::logger log_;
    event_aggregator aggregator_;
    event_api api_ = event_api::core_v1;
    bool api_known_ = false; // discovery answered (before the first event is sent)
    std::deque<event_record> pending_;
    bool sending_ = false;
    std::uint64_t dropped_ = 0;
    std::optional<asio::steady_timer> wake_;
};

} // namespace kubecoro::runtime
