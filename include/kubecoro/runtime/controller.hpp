// A controller: watches a primary resource, the children it owns and anything else it reads,
// turns the changes that matter into keys on a work queue, and runs a reconcile function for
// each key with bounded concurrency — never for the same key twice at once.
//
//   auto hello = runtime::controller_builder("helloworld", client)
//                    .for_resource(helloworlds)
//                    .owns(configmaps)
//                    .reconcile_with(reconcile)
//                    .build();
//   co_await (*hello)->run(); // until stop() or cancellation
#pragma once

#include <kubecoro/api/resource.hpp>
#include <kubecoro/client/client.hpp>
#include <kubecoro/core/asio.hpp>
#include <kubecoro/core/result.hpp>
#include <kubecoro/log/log.hpp>
#include <kubecoro/runtime/event_recorder.hpp>
#include <kubecoro/runtime/informer_cache.hpp>
#include <kubecoro/runtime/predicates.hpp>
#include <kubecoro/runtime/watcher.hpp>
#include <kubecoro/runtime/work_queue.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace kubecoro::metrics {
class registry;
}

namespace kubecoro::runtime {

using namespace std::chrono_literals;

namespace detail {
struct controller_metrics;
class task_group;
} // namespace detail

// What a reconcile asks for next.
struct reconcile_result {
    enum class type {
        done,          // in sync: next look at the periodic resync
        requeue_after, // in sync for now: look again after `after`
        retry,         // failed: again after the key's rate-limited backoff
        terminal,      // failed for good: not again until the object changes
    };
    type kind = type::done;
    std::chrono::steady_clock::duration after{};
    core::error error;

    static reconcile_result done() { return {}; }
    static reconcile_result requeue_after(std::chrono::steady_clock::duration d) {
        return {type::requeue_after, d, {}};
    }
    static reconcile_result retry(core::error e) { return {type::retry, {}, std::move(e)}; }
    static reconcile_result terminal(core::error e) { return {type::terminal, {}, std::move(e)}; }
    // retry when client::is_retryable(e), else terminal; a 409 Conflict (a stale cache) requeues
    // after 250 ms and a cancellation retries, neither counted as a failure.
    static reconcile_result from_error(core::error e);
};

class controller;

// What a reconcile gets: the request, the caches, the client, a logger and an event recorder.
// Cheap to copy; valid for as long as the controller lives (which run() guarantees).
class reconcile_context {
public:
    const reconcile_request& request() const { return request_; }
    const std::string& reconcile_id() const { return reconcile_id_; }
    // The primary object from the cache, its body as a tree (a copy decoded for this call: get it
    // once per reconcile); nullptr when it does not exist (any more).
    object_ptr get() const;
    // Objects of the watched resource `r` whose controller owner is the primary.
    std::vector<object_ptr> owned(const api::resource& r) const;
    // The cache of a watched resource; nullptr when the controller does not watch it.
    const store* cache(const api::resource& r) const;
    client::client& client() const;
    const std::shared_ptr<client::client>& client_ptr() const;
    // The field manager for server-side apply: the controller's name.
    const std::string& field_manager() const;
    // runtime::apply / apply_status with this controller as the field manager.
    awaitable<core::result<json::value>> apply(api::resource r, json::value object) const;
    awaitable<core::result<json::value>> apply_status(api::resource r, json::value object) const;
    // The controller's wall clock (controller_config::clock).
    std::chrono::system_clock::time_point now() const;
    // Logs with controller, namespace, name and reconcileID.
    const log::logger& log() const { return log_; }
    // An Event about the primary (no-op when it is not in the cache).
    void record(event_type type, std::string reason, std::string message) const;
    void record(const api::resource& r,
                const api::object_meta& meta,
                event_type type,
                std::string reason,
                std::string message) const;

private:
    friend class controller;
    reconcile_context(std::shared_ptr<controller> c, reconcile_request r, std::string id, log::logger l);

    std::shared_ptr<controller> controller_;
    reconcile_request request_;
    std::string reconcile_id_;
    log::logger log_;
};

using reconcile_fn = std::function<awaitable<reconcile_result>(reconcile_context)>;
using request_reconcile_fn = std::function<awaitable<reconcile_result>(reconcile_request)>;
// Which primaries a change of a watched (not owned) object concerns.
using mapper = std::function<std::vector<reconcile_request>(const object&)>;

struct watch_filter {
    std::string label_selector;
    std::string field_selector;
};

// Where watch events come from: the API server, or only on_watch_event()/enqueue() (tests).
enum class event_sources { watch, manual };

struct controller_config {
    std::string name;
    std::vector<std::string> namespaces{""}; // "" = all namespaces
    std::size_t max_concurrent_reconciles = 1;
    // Each successful reconcile comes back after about this long (drift repair); 0 = never.
    std::chrono::steady_clock::duration resync_period = 10min;
    double resync_jitter = 0.1; // resyncs are spread over resync_period * [1 - j, 1 + j)
    // How long stop() lets reconciles in flight finish before cancelling them.
    std::chrono::steady_clock::duration shutdown_timeout = 30s;
    std::string event_instance; // reportingInstance of Events (e.g. the pod name)
    work_queue_config queue;
    event_sources sources = event_sources::watch;
    // The wall clock reconciles read (reconcile_context::now()); empty: the system clock.
    std::function<std::chrono::system_clock::time_point()> clock;
    // The clock keys fall due by (retries, requeues, resyncs); empty: the steady clock. A test
    // that moves it calls controller::wake().
    std::function<std::chrono::steady_clock::time_point()> queue_clock;
    // Where each resource's watcher reads from; empty: the client (tests inject scripts here).
    // Not used with a shared cache (controller_builder::informers), which has its own.
    std::function<watch_source(const api::resource&)> make_source;
};

class controller : public std::enable_shared_from_this<controller> {
public:
    enum class role { primary, owned, watched };
    struct source {
        role kind = role::primary;
        std::shared_ptr<watcher> watch;
        mapper map;         // role::watched only
        projection project; // what this controller reads (the shared cache may keep more)
    };

    ~controller();

    // Watches, and reconciles what changes, until stop() or the awaiting coroutine is cancelled;
    // then takes no new work, lets reconciles in flight finish (up to shutdown_timeout) and
    // returns. Rethrows an exception that ended a watcher. Run it once.
    awaitable<void> run();
    void stop();

    // Every watcher has completed its first list (the readiness probe).
    bool synced() const;
    const std::string& name() const { return config_.name; }
    const controller_config& config() const { return config_; }
    const api::resource& primary() const { return sources_.front().watch->config().resource; }
    const store* cache(const api::resource& r) const;
    const work_queue& queue() const { return queue_; }
    std::size_t active_reconciles() const;
    // Reconciles started since the controller was built.
    std::uint64_t reconciles_started() const { return started_; }
    event_recorder& recorder() { return *recorder_; }

    // Reconciles `r` soon (e.g. from a webhook or a test).
    void enqueue(const reconcile_request& r);
    // Looks at the queue again now (new work, or controller_config::queue_clock moved).
    void wake();
    // What the watcher of sources()[index] calls; public so tests can inject events.
    void on_watch_event(std::size_t index, const watcher_event& e);
    const std::vector<source>& sources() const { return sources_; }

private:
    friend class controller_builder;
    friend class reconcile_context;
    controller(controller_config config,
               std::shared_ptr<client::client> client,
               reconcile_fn reconcile,
               log::logger logger,
               metrics::registry* registry);

    std::chrono::steady_clock::time_point queue_now() const;
    void dispatch(detail::task_group& workers);
    awaitable<void> reconcile_one(std::string key);
    void
    finish(const std::string& key, const reconcile_result& result, std::chrono::steady_clock::duration took);
    std::chrono::steady_clock::duration resync_delay();
    void collect_metrics();

    controller_config config_;
    std::shared_ptr<client::client> client_;
    reconcile_fn reconcile_;
    log::logger log_;
    std::vector<source> sources_;
    std::shared_ptr<informer_cache> informers_;
    std::shared_ptr<event_recorder> recorder_;
    work_queue queue_;
    std::unique_ptr<detail::controller_metrics> metrics_;
    std::optional<asio::steady_timer> wake_;
    std::size_t active_ = 0;
    std::uint64_t started_ = 0;
    bool running_ = false;
    bool stopping_ = false;
    bool ran_ = false;
    std::exception_ptr source_failure_;
    std::mt19937_64 rng_;
};

class controller_builder {
public:
    controller_builder(std::string name, std::shared_ptr<client::client> client);

    // The primary resource: its changes that a reconcile reads are reconciled (see primary_changed).
    controller_builder& for_resource(api::resource r, projection p = keep_all(), watch_filter f = {});
    // Children whose controller ownerReference points to a primary: their changes reconcile it.
    controller_builder& owns(api::resource r, projection p = keep_metadata(), watch_filter f = {});
    // Any other resource: `m` says which primaries its changes concern.
    controller_builder&
    watches(api::resource r, mapper m, projection p = keep_metadata(), watch_filter f = {});
    controller_builder& reconcile_with(reconcile_fn fn);
    controller_builder& reconcile_with(request_reconcile_fn fn);
    // The cache of `r` also indexes this label key (store::labelled).
    controller_builder& index_label(const api::resource& r, std::string key);
    // Watches through the process's shared cache (one watch per kind for every controller);
    // without it the controller has a cache of its own.
    controller_builder& informers(std::shared_ptr<informer_cache> cache);

    controller_builder& namespaces(std::vector<std::string> ns);
    controller_builder& max_concurrent_reconciles(std::size_t n);
    controller_builder& resync_period(std::chrono::steady_clock::duration d);
    controller_builder& shutdown_timeout(std::chrono::steady_clock::duration d);
    controller_builder& sources(event_sources s);
    controller_builder& queue(work_queue_config q);
    controller_builder& logger(log::logger l);
    // Registers the controller-runtime and workqueue metrics; `r` must outlive the controller.
    controller_builder& metrics(metrics::registry& r);
    controller_builder& configure(std::function<void(controller_config&)> fn);

    // Fails with core::errc::invalid_argument without a primary, a reconcile function or a client.
    core::result<std::shared_ptr<controller>> build();

private:
    struct pending_source {
        controller::role kind;
        api::resource resource;
        projection project;
        watch_filter filter;
        mapper map;
    };

    controller_config config_;
    std::shared_ptr<client::client> client_;
    std::optional<pending_source> primary_;
    std::vector<pending_source> others_;
    std::vector<std::pair<api::resource, std::string>> indexes_;
    std::shared_ptr<informer_cache> informers_;
    reconcile_fn reconcile_;
    std::optional<log::logger> logger_;
    metrics::registry* registry_ = nullptr;
};

} // namespace kubecoro::runtime
