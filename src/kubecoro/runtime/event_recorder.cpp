#include <kubecoro/api/errc.hpp>
#include <kubecoro/core/time.hpp>
#include <kubecoro/json/json.hpp>
#include <kubecoro/runtime/event_recorder.hpp>

#include <cstdio>
#include <ctime>
#include <unistd.h>

namespace kubecoro::runtime {

namespace {

const api::resource core_events{"", "v1", "events", "Event", api::scope::namespaced};
const api::resource events_v1_events{"events.k8s.io", "v1", "events", "Event", api::scope::namespaced};

const api::resource& events_resource(event_api a) {
    return a == event_api::events_v1 ? events_v1_events : core_events;
}

std::string_view type_name(event_type t) {
    return t == event_type::warning ? "Warning" : "Normal";
}

json::object object_reference(const involved_object& o) {
    return json::object{
        {"apiVersion", o.api_version},
        {"kind", o.kind},
        {"name", o.name},
        {"namespace", o.namespace_},
        {"uid", o.uid},
        {"resourceVersion", o.resource_version},
    };
}

// reportingInstance is required by events.k8s.io/v1 (at most 128 characters).
std::string instance_or_host(std::string instance) {
    if (instance.empty()) {
        char buf[256] = {};
        if (::gethostname(buf, sizeof buf - 1) == 0)
            instance = buf;
        if (instance.empty())
            instance = "unknown";
    }
    return instance.substr(0, 128);
}

// The API server rejects longer messages in events.k8s.io; keep core/v1 events the same.
constexpr std::size_t max_message = 1024;

std::string event_namespace(const involved_object& o) {
    return o.namespace_.empty() ? "default" : o.namespace_;
}

// client-go's naming: "<object>.<hex nanoseconds>", within the 253 characters of a name.
std::string event_name(const event_record& e) {
    auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(e.time.time_since_epoch()).count();
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, ".%llx", static_cast<unsigned long long>(nanos));
    std::string name = e.object.name.substr(0, 253 - std::char_traits<char>::length(suffix));
    return name + suffix;
}

} // namespace

involved_object involved(const api::resource& r, const api::object_meta& meta) {
    return {r.api_version(), r.kind, meta.namespace_, meta.name, meta.uid, meta.resource_version};
}

event_api choose_event_api(const core::result<api::resource>& discovered) {
    return discovered && discovered->group == "events.k8s.io" && discovered->version == "v1"
               ? event_api::events_v1
               : event_api::core_v1;
}

event_aggregator::event_aggregator(clock::duration window, std::size_t max_series)
    : window_(window)
    , max_series_(max_series) {}

std::string event_aggregator::key(const event_record& e) {
    std::string k;
    auto add = [&](std::string_view part) {
        k.append(part);
        k.push_back('\x1f'); // a separator no name or reason contains
    };
    if (e.object.uid.empty()) {
        add(e.object.kind);
        add(e.object.namespace_);
        add(e.object.name);
    } else {
        add(e.object.uid);
    }
    add(e.type == event_type::warning ? "Warning" : "Normal");
    add(e.reason);
    k.append(e.message);
    return k;
}

const event_aggregator::series* event_aggregator::observe(const std::string& key, clock::time_point now) {
    auto it = series_.find(key);
    if (it == series_.end())
        return nullptr;
    if (now - it->second.last_seen >= window_) {
        series_.erase(it);
        return nullptr;
    }
    ++it->second.count;
    it->second.last_seen = now;
    return &it->second;
}

void event_aggregator::created(const std::string& key,
                               std::string name,
                               std::string ns,
                               clock::time_point now) {
    series_.insert_or_assign(key, series{std::move(name), std::move(ns), 1, now});
    evict(now);
}

void event_aggregator::forget(const std::string& key) {
    series_.erase(key);
}

void event_aggregator::evict(clock::time_point now) {
    if (series_.size() <= max_series_)
        return;
    std::erase_if(series_, [&](const auto& s) { return now - s.second.last_seen >= window_; });
    while (series_.size() > max_series_) {
        auto oldest = series_.begin();
        for (auto it = series_.begin(); it != series_.end(); ++it)
            if (it->second.last_seen < oldest->second.last_seen)
                oldest = it;
        series_.erase(oldest);
    }
}

json::value
render_event(const event_record& e, const event_recorder_config& config, const std::string& name) {
    std::string now = core::format_rfc3339(e.time);
    json::object source{{"component", config.component}};
    if (!config.instance.empty())
        source.set("host", config.instance);
    json::object event{
        {"apiVersion", "v1"},
        {"kind", "Event"},
        {"metadata", json::object{{"name", name}, {"namespace", event_namespace(e.object)}}},
        {"involvedObject", object_reference(e.object)},
        {"reason", e.reason},
        {"message", e.message.substr(0, max_message)},
        {"type", type_name(e.type)},
        {"source", std::move(source)},
        {"firstTimestamp", now},
        {"lastTimestamp", now},
        {"count", 1},
        {"reportingComponent", config.component},
        {"reportingInstance", config.instance},
    };
    return event;
}

json::value
render_events_v1_event(const event_record& e, const event_recorder_config& config, const std::string& name) {
    return json::object{
        {"apiVersion", "events.k8s.io/v1"},
        {"kind", "Event"},
        {"metadata", json::object{{"name", name}, {"namespace", event_namespace(e.object)}}},
        {"eventTime", core::format_rfc3339(e.time, core::time_precision::microseconds)},
        {"reportingController", config.component},
        {"reportingInstance", instance_or_host(config.instance)},
        {"action", (e.action.empty() ? e.reason : e.action).substr(0, 128)},
        {"reason", e.reason},
        {"regarding", object_reference(e.object)},
        {"note", e.message.substr(0, max_message)},
        {"type", type_name(e.type)},
    };
}

std::string
render_event_repeat(event_api api, std::int64_t count, std::chrono::system_clock::time_point time) {
    json::value patch =
        api == event_api::events_v1
            ? json::object{{"series",
                            json::object{{"count", count},
                                         {"lastObservedTime",
                                          core::format_rfc3339(time, core::time_precision::microseconds)}}}}
            : json::object{{"count", count}, {"lastTimestamp", core::format_rfc3339(time)}};
    return json::write(patch);
}

event_recorder::event_recorder(std::shared_ptr<client::client> client,
                               event_recorder_config config,
                               log::logger logger)
    : client_(std::move(client))
    , config_(std::move(config))
    , log_(std::move(logger))
    , aggregator_(config_.aggregation_window, config_.max_series) {
    config_.instance = instance_or_host(std::move(config_.instance));
}

void event_recorder::record(const api::resource& r,
                            const api::object_meta& meta,
                            event_type type,
                            std::string reason,
                            std::string message) {
    record(event_record{involved(r, meta),
                        type,
                        std::move(reason),
                        std::move(message),
                        std::chrono::steady_clock::now(),
                        std::chrono::system_clock::now()});
}

void event_recorder::record(event_record e) {
    if (config_.max_pending == 0) {
        ++dropped_;
        return;
    }
    while (pending_.size() >= config_.max_pending) {
        pending_.pop_front();
        ++dropped_;
    }
    pending_.push_back(std::move(e));
    if (wake_)
        wake_->cancel();
}

awaitable<void> event_recorder::run() {
    auto self = shared_from_this();
    auto executor = co_await asio::this_coro::executor;
    wake_.emplace(executor);
    try {
        for (;;) {
            asio::cancellation_state cs = co_await asio::this_coro::cancellation_state;
            if (cancelled(cs))
                break;
            if (pending_.empty()) {
                wake_->expires_at(std::chrono::steady_clock::time_point::max());
                co_await wake_->async_wait(use_tuple);
                continue;
            }
            if (!api_known_)
                co_await choose_api();
            event_record e = std::move(pending_.front());
            pending_.pop_front();
            sending_ = true;
            co_await send(std::move(e));
            sending_ = false;
        }
    } catch (const std::system_error& e) {
        if (e.code() != asio::error::operation_aborted)
            throw;
    }
    wake_.reset();
}

awaitable<void> event_recorder::choose_api() {
    // Named: see core/asio.hpp on g++ 12.
    const std::vector<std::string> v1{"v1"};
    std::string group = "events.k8s.io";
    std::string plural = "events";
    auto found = co_await client_->discover(group, v1, plural);
    api_ = choose_event_api(found);
    // A failed discovery (not a "not served") is asked again before the next event.
    api_known_ = found || found.error().code == api::errc::not_found;
    if (!api_known_)
        log_.warn("event API discovery failed; this event goes as core/v1", {{"error", found.error()}});
    else
        log_.info("recording events", {{"apiVersion", events_resource(api_).api_version()}});
}

awaitable<bool> event_recorder::create(const event_record& e, const std::string& key) {
    std::string name = event_name(e);
    std::string ns = event_namespace(e.object);
    json::value event = api_ == event_api::events_v1 ? render_events_v1_event(e, config_, name)
                                                     : render_event(e, config_, name);
    api::resource r = events_resource(api_);
    auto created = co_await client_->create(r, ns, std::move(event));
    if (!created) {
        log_.warn("event not recorded",
                  {{"reason", e.reason}, {"object", e.object.name}, {"error", created.error()}});
        co_return false;
    }
    aggregator_.created(key, std::move(name), std::move(ns), e.seen);
    co_return true;
}

awaitable<void> event_recorder::send(event_record e) {
    std::string key = event_aggregator::key(e);
    const event_aggregator::series* s = aggregator_.observe(key, e.seen);
    if (!s) {
        co_await create(e, key);
        co_return;
    }
    std::string name = s->name;
    std::string ns = s->namespace_;
    std::string patch = render_event_repeat(api_, s->count, e.time);
    api::patch_options no_options;
    api::resource r = events_resource(api_);
    auto patched = co_await client_->patch(r, ns, name, api::patch_type::merge, std::move(patch), no_options);
    if (patched)
        co_return;
    if (patched.error().code == api::errc::not_found) {
        aggregator_.forget(key);
        co_await create(e, key);
        co_return;
    }
    log_.warn("event not updated",
              {{"reason", e.reason}, {"object", e.object.name}, {"error", patched.error()}});
}

} // namespace kubecoro::runtime
