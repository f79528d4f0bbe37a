#include <kubecoro/api/errc.hpp>
#include <kubecoro/core/errc.hpp>
#include <kubecoro/metrics/metrics.hpp>
#include <kubecoro/runtime/apply.hpp>
#include <kubecoro/runtime/controller.hpp>
#include <kubecoro/runtime/detail/task_group.hpp>

#include <cstdio>

namespace kubecoro::runtime {

namespace detail {

// The controller-runtime and client-go workqueue metrics of one controller.
struct controller_metrics {
    controller_metrics(metrics::registry& r, const std::string& name) {
        auto& total = r.add_counter_family("controller_runtime_reconcile_total",
                                           "Total number of reconciliations per controller",
                                           {"controller", "result"});
        success = &total.with({name, "success"});
        requeue_after = &total.with({name, "requeue_after"});
        requeue = &total.with({name, "requeue"});
        error = &total.with({name, "error"});
        terminal = &total.with({name, "terminal_error"});
        errors = &r.add_counter_family("controller_runtime_reconcile_errors_total",
                                       "Total number of reconciliation errors per controller",
                                       {"controller"})
                      .with({name});
        terminal_errors =
            &r.add_counter_family("controller_runtime_terminal_reconcile_errors_total",
                                  "Total number of terminal reconciliation errors per controller",
                                  {"controller"})
                 .with({name});
        reconcile_time = &r.add_histogram_family("controller_runtime_reconcile_time_seconds",
                                                 "Length of time per reconciliation per controller",
                                                 {"controller"},
                                                 metrics::exponential_buckets(0.005, 2, 14))
                              .with({name});
        max_concurrent = &r.add_gauge_family("controller_runtime_max_concurrent_reconciles",
                                             "Maximum number of concurrent reconciles per controller",
                                             {"controller"})
                              .with({name});
        active_workers = &r.add_gauge_family("controller_runtime_active_workers",
                                             "Number of currently used workers per controller",
                                             {"controller"})
                              .with({name});
        depth = &r.add_gauge_family("workqueue_depth", "Current depth of workqueue", {"name"}).with({name});
        adds = &r.add_counter_family(
                     "workqueue_adds_total", "Total number of adds handled by workqueue", {"name"})
                    .with({name});
        retries = &r.add_counter_family(
                        "workqueue_retries_total", "Total number of retries handled by workqueue", {"name"})
                       .with({name});
        queue_duration =
            &r.add_histogram_family("workqueue_queue_duration_seconds",
                                    "How long in seconds an item stays in workqueue before being requested",
                                    {"name"},
                                    metrics::exponential_buckets(1e-8, 10, 11))
                 .with({name});
        work_duration = &r.add_histogram_family("workqueue_work_duration_seconds",
                                                "How long in seconds processing an item from workqueue takes",
                                                {"name"},
                                                metrics::exponential_buckets(1e-8, 10, 11))
                             .with({name});
        unfinished_work = &r.add_gauge_family("workqueue_unfinished_work_seconds",
                                              "How many seconds of work has been done that is in progress",
                                              {"name"})
                               .with({name});
        longest_running =
            &r.add_gauge_family("workqueue_longest_running_processor_seconds",
                                "How many seconds has the longest running processor been running",
                                {"name"})
                 .with({name});
        events_dropped = &r.add_counter_family("kubecoro_events_dropped_total",
                                               "Events not sent because the recorder's buffer was full",
                                               {"controller"})
                              .with({name});
    }

    metrics::counter* success;
    metrics::counter* requeue_after;
    metrics::counter* requeue; // a stale cache's conflict, retried: not an error
    metrics::counter* error;
    metrics::counter* terminal;
    metrics::counter* errors;
    metrics::counter* terminal_errors;
    metrics::histogram* reconcile_time;
    metrics::gauge* max_concurrent;
    metrics::gauge* active_workers;
    metrics::gauge* depth;
    metrics::counter* adds;
    metrics::counter* retries;
    metrics::histogram* queue_duration;
    metrics::histogram* work_duration;
    metrics::gauge* unfinished_work;
    metrics::gauge* longest_running;
    metrics::counter* events_dropped;
    std::uint64_t adds_seen = 0;
    std::uint64_t retries_seen = 0;
    std::uint64_t events_dropped_seen = 0;
};

} // namespace detail

namespace {

using clock = std::chrono::steady_clock;

double seconds(clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

bool same_resource(const api::resource& a, const api::resource& b) {
    return a.group == b.group && a.plural == b.plural;
}

std::string_view result_name(reconcile_result::type t) {
    switch (t) {
    case reconcile_result::type::done:
        return "success";
    case reconcile_result::type::requeue_after:
        return "requeue_after";
    case reconcile_result::type::retry:
        return "error";
    case reconcile_result::type::terminal:
        return "terminal_error";
    }
    return "unknown";
}

// Runs `task` while holding `owner`, so the object outlives the coroutine.
template <class T>
awaitable<void> holding(std::shared_ptr<T> owner, awaitable<void> task) {
    (void)owner;
    co_await std::move(task);
}

} // namespace

reconcile_result reconcile_result::from_error(core::error e) {
    // A reconcile cut short by shutdown did not fail: whoever runs next picks the key up again.
    if (e.code == core::errc::cancelled)
        return retry(std::move(e));
    // A conflict means our cache is behind the object we wrote from it: retried with the key's
    // backoff, which grows while the cache lags (a fixed short delay would be a loop per object).
    return client::is_retryable(e) ? retry(std::move(e)) : terminal(std::move(e));
}

// reconcile_context

reconcile_context::reconcile_context(std::shared_ptr<controller> c,
                                     reconcile_request r,
                                     std::string id,
                                     log::logger l)
    : controller_(std::move(c))
    , request_(std::move(r))
    , reconcile_id_(std::move(id))
    , log_(std::move(l)) {}

object_ptr reconcile_context::get() const {
    return with_tree(controller_->sources_.front().watch->cache().get(request_.namespace_, request_.name));
}

std::vector<object_ptr> reconcile_context::owned(const api::resource& r) const {
    object_ptr primary = controller_->sources_.front().watch->cache().get(request_.namespace_, request_.name);
    const store* s = cache(r);
    if (!primary || !s)
        return {};
    return s->owned_by(primary->meta.uid);
}

const store* reconcile_context::cache(const api::resource& r) const {
    return controller_->cache(r);
}

client::client& reconcile_context::client() const {
    return *controller_->client_;
}

const std::shared_ptr<client::client>& reconcile_context::client_ptr() const {
    return controller_->client_;
}

const std::string& reconcile_context::field_manager() const {
    return controller_->config_.name;
}

std::chrono::system_clock::time_point reconcile_context::now() const {
    const auto& clock = controller_->config_.clock;
    return clock ? clock() : std::chrono::system_clock::now();
}

awaitable<core::result<json::value>> reconcile_context::apply(api::resource r, json::value object) const {
    return runtime::apply(*controller_->client_, std::move(r), std::move(object), field_manager());
}

awaitable<core::result<json::value>> reconcile_context::apply_status(api::resource r,
                                                                     json::value object) const {
    return runtime::apply_status(*controller_->client_, std::move(r), std::move(object), field_manager());
}

void reconcile_context::record(event_type type, std::string reason, std::string message) const {
    if (object_ptr primary = get())
        record(controller_->primary(), primary->meta, type, std::move(reason), std::move(message));
}

void reconcile_context::record(const api::resource& r,
                               const api::object_meta& meta,
                               event_type type,
                               std::string reason,
                               std::string message) const {
    controller_->recorder_->record(r, meta, type, std::move(reason), std::move(message));
}

// controller

controller::controller(controller_config config,
                       std::shared_ptr<client::client> client,
                       reconcile_fn reconcile,
                       log::logger logger,
                       metrics::registry* registry)
    : config_(std::move(config))
    , client_(std::move(client))
    , reconcile_(std::move(reconcile))
    , log_(std::move(logger))
    , recorder_(std::make_shared<event_recorder>(
          client_, event_recorder_config{config_.name, config_.event_instance}, log_))
    , queue_(config_.queue)
    , rng_(std::random_device{}()) {
    if (registry) {
        metrics_ = std::make_unique<detail::controller_metrics>(*registry, config_.name);
        metrics_->max_concurrent->set(static_cast<double>(config_.max_concurrent_reconciles));
    }
}

controller::~controller() = default;

bool controller::synced() const {
    if (config_.sources == event_sources::manual)
        return true;
    for (const source& s : sources_)
        if (!s.watch->synced())
            return false;
    return true;
}

const store* controller::cache(const api::resource& r) const {
    for (const source& s : sources_)
        if (same_resource(s.watch->config().resource, r))
            return &s.watch->cache();
    return nullptr;
}

std::size_t controller::active_reconciles() const {
    return active_;
}

clock::time_point controller::queue_now() const {
    return config_.queue_clock ? config_.queue_clock() : clock::now();
}

void controller::wake() {
    if (wake_)
        wake_->cancel();
}

void controller::stop() {
    stopping_ = true;
    wake();
}

void controller::enqueue(const reconcile_request& r) {
    queue_.add(r.key(), queue_now());
    wake();
}

void controller::on_watch_event(std::size_t index, const watcher_event& e) {
    const source& s = sources_.at(index);
    if (e.kind == watcher_event::type::synced) {
        log_.info("cache synced", {{"resource", s.watch->config().resource.plural}});
        wake();
        return;
    }
    const object& o = *e.object;
    bool deleted = e.kind == watcher_event::type::deleted;
    switch (s.kind) {
    case role::primary:
        if (deleted || primary_changed(e.old.get(), o))
            enqueue(request_for(o.meta));
        return;
    case role::owned:
        if (!deleted && !projection_changed(e.old.get(), o, s.project))
            return;
        if (auto owner = owner_request(o.meta, primary()))
            enqueue(*owner);
        // A child handed over to another owner also concerns the one it left.
        if (e.old) {
            auto before = owner_request(e.old->meta, primary());
            if (before && before != owner_request(o.meta, primary()))
                enqueue(*before);
        }
        return;
    case role::watched:
        if (!deleted && !projection_changed(e.old.get(), o, s.project))
            return;
        try {
            for (const reconcile_request& r : s.map(o))
                enqueue(r);
            if (e.old)
                for (const reconcile_request& r : s.map(*e.old))
                    enqueue(r);
        } catch (const std::exception& ex) {
            // A mapper is the controller's code: its bug must not end the watch all controllers share.
            log_.error("mapping a watched object to primaries threw",
                       {{"resource", s.watch->config().resource.plural},
                        {"name", o.meta.name},
                        {"error", ex.what()}});
        }
        return;
    }
}

clock::duration controller::resync_delay() {
    double j = std::clamp(config_.resync_jitter, 0.0, 1.0);
    double scale = std::uniform_real_distribution<double>(1.0 - j, 1.0 + j)(rng_);
    return std::chrono::duration_cast<clock::duration>(config_.resync_period * scale);
}

void controller::collect_metrics() {
    if (!metrics_)
        return;
    auto now = queue_now();
    metrics_->depth->set(static_cast<double>(queue_.depth()));
    metrics_->adds->inc(static_cast<double>(queue_.adds_total() - metrics_->adds_seen));
    metrics_->adds_seen = queue_.adds_total();
    metrics_->retries->inc(static_cast<double>(queue_.retries_total() - metrics_->retries_seen));
    metrics_->retries_seen = queue_.retries_total();
    metrics_->unfinished_work->set(seconds(queue_.unfinished_work(now)));
    metrics_->longest_running->set(seconds(queue_.longest_running(now)));
    metrics_->active_workers->set(static_cast<double>(active_));
    metrics_->events_dropped->inc(static_cast<double>(recorder_->dropped() - metrics_->events_dropped_seen));
    metrics_->events_dropped_seen = recorder_->dropped();
}

awaitable<void> controller::run() {
    auto self = shared_from_this();
    if (ran_)
        throw std::logic_error("controller " + config_.name + ": run() called twice");
    ran_ = running_ = true;
    auto executor = co_await asio::this_coro::executor;
    wake_.emplace(executor);
    detail::task_group sources(executor);
    detail::task_group workers(executor);
    std::weak_ptr<controller> weak = self;
    auto on_source_exit = [weak](std::exception_ptr e) {
        // The cache only ends when cancelled: when it ends by itself it takes the controller down.
        if (auto c = weak.lock(); c && !c->stopping_) {
            c->source_failure_ = e ? e : std::make_exception_ptr(std::runtime_error("watcher ended"));
            c->stop();
        }
    };
    if (config_.sources == event_sources::watch) {
        sources.spawn(holding(informers_, informers_->run()), on_source_exit);
        if (client_) // without one (tests), events stay buffered
            sources.spawn(holding(recorder_, recorder_->run()), on_source_exit);
    }
    log_.info("controller started", {{"workers", config_.max_concurrent_reconciles}});
    std::exception_ptr failure;

    try {
        while (!stopping_) {
            dispatch(workers);
            if (auto due = queue_.next_deadline())
                wake_->expires_after(*due - queue_now());
            else
                wake_->expires_at(clock::time_point::max());
            co_await wake_->async_wait(use_tuple);
            asio::cancellation_state cs = co_await asio::this_coro::cancellation_state;
            if (cancelled(cs))
                break;
        }
    } catch (const std::system_error& e) {
        if (e.code() != asio::error::operation_aborted)
            failure = std::current_exception();
    } catch (...) {
        failure = std::current_exception(); // rethrown once everything started here has ended
    }
    // Shut down without throwing on cancellation, so that cancelling again cannot skip the
    // cleanup; the waits below are bounded instead. The caller's setting is restored at the end.
    bool throws = co_await asio::this_coro::throw_if_cancelled();
    co_await asio::this_coro::throw_if_cancelled(false);
    co_await asio::this_coro::reset_cancellation_state();

    stopping_ = true;
    queue_.shut_down();
    if (workers.running() > 0)
        log_.info("waiting for reconciles in flight", {{"count", workers.running()}});
    bool finished = co_await workers.join_until(clock::now() + config_.shutdown_timeout);
    if (!finished) {
        log_.warn("reconciles still running after the shutdown timeout: cancelling them",
                  {{"count", workers.running()}});
        workers.cancel();
        co_await workers.join_until(clock::now() + 5s);
    }
    // Events the last reconciles said go out before the recorder stops (for at most 5 s).
    for (auto flush_until = clock::now() + 5s; config_.sources == event_sources::watch && client_ &&
                                               !recorder_->idle() && clock::now() < flush_until;)
        co_await sleep_for(10ms);
    sources.cancel();
    co_await sources.join_until(clock::now() + 5s);
    wake_.reset();
    running_ = false;
    co_await asio::this_coro::throw_if_cancelled(throws);
    log_.info("controller stopped");
    if (!failure)
        failure = source_failure_;
    if (failure)
        std::rethrow_exception(failure);
}

void controller::dispatch(detail::task_group& workers) {
    auto now = queue_now();
    // Like controller-runtime, no reconcile starts before every cache has its first list: a
    // reconcile must not mistake a child that is merely not listed yet for a missing one.
    while (!stopping_ && synced() && workers.running() < config_.max_concurrent_reconciles) {
        std::optional<std::string> key = queue_.pop(now);
        if (!key)
            break;
        if (metrics_)
            if (const work_queue::in_flight* f = queue_.processing(*key))
                metrics_->queue_duration->observe(seconds(f->started_at - f->ready_at));
        ++active_;
        ++started_;
        std::weak_ptr<controller> weak = weak_from_this();
        workers.spawn(reconcile_one(std::move(*key)), [weak](std::exception_ptr) {
            if (auto c = weak.lock())
                c->wake();
        });
    }
    collect_metrics();
}

awaitable<void> controller::reconcile_one(std::string key) {
    auto self = shared_from_this();
    reconcile_request request = request_from_key(key);
    char id[17];
    std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(rng_()));
    log::logger log =
        log_.with({{"namespace", request.namespace_}, {"name", request.name}, {"reconcileID", id}});
    auto started = clock::now();
    reconcile_result result;
    try {
        reconcile_context ctx(self, request, id, log);
        result = co_await reconcile_(std::move(ctx));
    } catch (const std::system_error& e) {
        result = reconcile_result::retry(e.code() == asio::error::operation_aborted
                                             ? core::error{core::errc::cancelled, "reconcile cancelled"}
                                             : core::error{e.code(), e.what()});
    } catch (const std::exception& e) {
        result = reconcile_result::retry(
            {core::errc::invalid_argument, std::string("reconcile threw: ") + e.what()});
    } catch (...) {
        result = reconcile_result::retry({core::errc::invalid_argument, "reconcile threw something unknown"});
    }
    auto took = clock::now() - started;
    try {
        switch (result.kind) {
        case reconcile_result::type::retry:
            if (result.error.code == api::errc::conflict)
                log.info("stale cache: retrying", {{"error", result.error}, {"duration", took}});
            else
                log.error("reconcile failed", {{"error", result.error}, {"duration", took}});
            break;
        case reconcile_result::type::terminal:
            log.error("reconcile failed permanently", {{"error", result.error}, {"duration", took}});
            break;
        default:
            log.debug("reconciled", {{"result", result_name(result.kind)}, {"duration", took}});
        }
    } catch (...) {
        // Whatever happens after the reconcile, the key is finished below: a key left
        // "processing" would never be reconciled again.
    }
    finish(key, result, took);
}

void controller::finish(const std::string& key, const reconcile_result& result, clock::duration took) {
    auto now = queue_now();
    switch (result.kind) {
    case reconcile_result::type::done:
    case reconcile_result::type::requeue_after: {
        queue_.forget(key);
        // Drift repair for objects that still exist (a deleted one is not looked at again), not
        // put off by a later recheck (a backup schedule hours away).
        std::optional<clock::duration> next;
        if (result.kind == reconcile_result::type::requeue_after)
            next = std::chrono::duration_cast<clock::duration>(result.after);
        if (config_.resync_period > clock::duration::zero() && sources_.front().watch->cache().get(key))
            next = std::min(next.value_or(clock::duration::max()), resync_delay());
        if (next)
            queue_.add_after(key, *next, now);
        break;
    }
    case reconcile_result::type::retry:
        // No sooner than the server's Retry-After (429, 503): a retry storm is what it warns of.
        queue_.add_rate_limited(key, now, result.error.retry_after);
        break;
    case reconcile_result::type::terminal:
        queue_.forget(key);
        break;
    }
    queue_.done(key, now);
    --active_;
    if (metrics_) {
        metrics_->reconcile_time->observe(seconds(took));
        metrics_->work_duration->observe(seconds(took));
        switch (result.kind) {
        case reconcile_result::type::done:
            metrics_->success->inc();
            break;
        case reconcile_result::type::requeue_after:
            metrics_->requeue_after->inc();
            break;
        case reconcile_result::type::retry:
            if (result.error.code == api::errc::conflict) {
                metrics_->requeue->inc();
                break;
            }
            metrics_->error->inc();
            metrics_->errors->inc();
            break;
        case reconcile_result::type::terminal:
            metrics_->terminal->inc();
            metrics_->errors->inc();
            metrics_->terminal_errors->inc();
            break;
        }
    }
    wake();
}

// controller_builder

controller_builder::controller_builder(std::string name, std::shared_ptr<client::client> client)
    : client_(std::move(client)) {
    config_.name = std::move(name);
}

controller_builder& controller_builder::for_resource(api::resource r, projection p, watch_filter f) {
    primary_ = pending_source{controller::role::primary, std::move(r), std::move(p), std::move(f), {}};
    return *this;
}

controller_builder& controller_builder::owns(api::resource r, projection p, watch_filter f) {
    others_.push_back({controller::role::owned, std::move(r), std::move(p), std::move(f), {}});
    return *this;
}

controller_builder& controller_builder::watches(api::resource r, mapper m, projection p, watch_filter f) {
    others_.push_back({controller::role::watched, std::move(r), std::move(p), std::move(f), std::move(m)});
    return *this;
}

controller_builder& controller_builder::reconcile_with(reconcile_fn fn) {
    reconcile_ = std::move(fn);
    return *this;
}

controller_builder& controller_builder::reconcile_with(request_reconcile_fn fn) {
    if (!fn) {
        reconcile_ = nullptr;
        return *this;
    }
    reconcile_ = [fn = std::move(fn)](reconcile_context ctx) { return fn(ctx.request()); };
    return *this;
}

controller_builder& controller_builder::index_label(const api::resource& r, std::string key) {
    indexes_.emplace_back(r, std::move(key));
    return *this;
}

controller_builder& controller_builder::informers(std::shared_ptr<informer_cache> cache) {
    informers_ = std::move(cache);
    return *this;
}

controller_builder& controller_builder::namespaces(std::vector<std::string> ns) {
    config_.namespaces = std::move(ns);
    return *this;
}

controller_builder& controller_builder::max_concurrent_reconciles(std::size_t n) {
    config_.max_concurrent_reconciles = n;
    return *this;
}

controller_builder& controller_builder::resync_period(clock::duration d) {
    config_.resync_period = d;
    return *this;
}

controller_builder& controller_builder::shutdown_timeout(clock::duration d) {
    config_.shutdown_timeout = d;
    return *this;
}

controller_builder& controller_builder::sources(event_sources s) {
    config_.sources = s;
    return *this;
}

controller_builder& controller_builder::queue(work_queue_config q) {
    config_.queue = q;
    return *this;
}

controller_builder& controller_builder::logger(log::logger l) {
    logger_ = std::move(l);
    return *this;
}

controller_builder& controller_builder::metrics(metrics::registry& r) {
    registry_ = &r;
    return *this;
}

controller_builder& controller_builder::configure(std::function<void(controller_config&)> fn) {
    if (fn)
        fn(config_);
    return *this;
}

core::result<std::shared_ptr<controller>> controller_builder::build() {
    auto invalid = [&](std::string what) {
        return core::fail(core::errc::invalid_argument, "controller " + config_.name + ": " + what);
    };
    if (config_.name.empty())
        return invalid("needs a name");
    if (!primary_)
        return invalid("needs for_resource()");
    if (!reconcile_)
        return invalid("needs reconcile_with()");
    if (!client_ && config_.sources == event_sources::watch && !config_.make_source && !informers_)
        return invalid("needs a client");
    if (config_.max_concurrent_reconciles == 0)
        return invalid("max_concurrent_reconciles must be at least 1");
    for (const pending_source& s : others_)
        if (s.kind == controller::role::watched && !s.map)
            return invalid("watches(" + s.resource.plural + ") needs a mapper");
    if (config_.namespaces.empty())
        config_.namespaces.push_back("");

    log::logger base = logger_ ? *logger_ : log::default_logger().named("controller");
    auto c = std::shared_ptr<controller>(
        new controller(config_, client_, reconcile_, base.with({{"controller", config_.name}}), registry_));

    c->informers_ =
        informers_ ? informers_ : std::make_shared<informer_cache>(client_, c->log_, config_.make_source);
    std::vector<pending_source> all{*primary_};
    all.insert(all.end(), others_.begin(), others_.end());
    std::weak_ptr<controller> weak = c;
    for (pending_source& s : all) {
        watcher_config wc;
        wc.resource = s.resource;
        wc.namespaces =
            s.resource.scope == api::scope::cluster ? std::vector<std::string>{""} : config_.namespaces;
        wc.label_selector = s.filter.label_selector;
        wc.field_selector = s.filter.field_selector;
        wc.project = s.project;
        for (const auto& [r, key] : indexes_)
            if (same_resource(r, s.resource))
                wc.indexed_labels.push_back(key);
        std::size_t index = c->sources_.size();
        auto handler = [weak, index](const watcher_event& e) {
            if (auto ctl = weak.lock())
                ctl->on_watch_event(index, e);
        };
        c->sources_.push_back(
            {s.kind, c->informers_->watch(std::move(wc), std::move(handler)), std::move(s.map), s.project});
    }
    if (registry_)
        registry_->on_collect([weak] {
            if (auto ctl = weak.lock())
                ctl->collect_metrics();
        });
    return c;
}

} // namespace kubecoro::runtime
