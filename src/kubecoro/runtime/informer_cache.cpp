#include <kubecoro/api/errc.hpp>
#include <kubecoro/core/errc.hpp>
#include <kubecoro/runtime/detail/task_group.hpp>
#include <kubecoro/runtime/informer_cache.hpp>

#include <algorithm>

namespace kubecoro::runtime {

namespace {

using clock = std::chrono::steady_clock;

bool same_scope(const watcher_config& a, const watcher_config& b) {
    return a.resource.group == b.resource.group && a.resource.plural == b.resource.plural &&
           a.namespaces == b.namespaces && a.label_selector == b.label_selector &&
           a.field_selector == b.field_selector;
}

// Logs a failed list or watch at the level it deserves.
void log_failure(const log::logger& log,
                 const watcher_config& cfg,
                 std::string_view ns,
                 const core::error& e) {
    // 410 Gone is routine (the watched version was compacted): the watcher relists. So is the
    // idle timeout on a quiet watch (the API server sends nothing while nothing changes): the
    // watcher resumes from the last resourceVersion.
    const bool gone = e.code == api::errc::gone;
    const bool idle = e.code == core::errc::timeout;
    log.log(gone   ? log::level::info
            : idle ? log::level::debug
                   : log::level::warn,
            gone   ? "watch expired: relisting"
            : idle ? "watch idle: reconnecting"
                   : "watch failed",
            {{"resource", cfg.resource.plural}, {"namespace", ns}, {"error", e}});
}

} // namespace

struct informer_cache::shared_watch {
    std::shared_ptr<watcher> watch;
    std::vector<watcher_handler> handlers;
    std::vector<watcher_handler> late; // added while it ran: told what is cached at the next run()
    bool started = false;
};

informer_cache::informer_cache(std::shared_ptr<client::client> client,
                               log::logger log,
                               source_factory make_source)
    : client_(std::move(client))
    , log_(std::move(log))
    , make_source_(std::move(make_source)) {}

informer_cache::~informer_cache() = default;

std::shared_ptr<watcher> informer_cache::watch(watcher_config config, watcher_handler handler) {
    for (auto& s : watches_) {
        const watcher_config& current = s->watch->config();
        if (!same_scope(current, config))
            continue;
        if (!s->started) {
            s->watch->widen(config.project, config.indexed_labels);
            s->handlers.push_back(std::move(handler));
            return s->watch;
        }
        const auto& indexed = s->watch->cache().indexed_labels();
        bool indexes = std::all_of(config.indexed_labels.begin(),
                                   config.indexed_labels.end(),
                                   [&](const std::string& k) { return indexed.contains(k); });
        if (current.project.covers(config.project) && indexes) {
            s->late.push_back(std::move(handler));
            return s->watch;
        }
    }
    auto s = std::make_shared<shared_watch>();
    std::weak_ptr<shared_watch> weak = s;
    auto fan_out = [weak](const watcher_event& e) {
        if (auto sw = weak.lock())
            for (const watcher_handler& h : sw->handlers) // added to only outside a fan-out
                h(e);
    };
    s->handlers.push_back(std::move(handler));
    s->watch = make_source_
                   ? std::make_shared<watcher>(make_source_(config.resource), std::move(config), fan_out)
                   : std::make_shared<watcher>(client_, std::move(config), fan_out);
    s->watch->on_error = [log = log_](const watcher_config& cfg, std::string_view ns, const core::error& e) {
        log_failure(log, cfg, ns, e);
    };
    watches_.push_back(s);
    return s->watch;
}

void informer_cache::start_pending() {
    std::weak_ptr<informer_cache> weak = weak_from_this();
    for (auto& s : watches_) {
        if (!s->started) {
            s->started = true;
            auto w = s->watch;
            auto task = [](std::shared_ptr<watcher> w) -> awaitable<void> { co_await w->run(); };
            tasks_->spawn(task(w), [weak, resource = w->config().resource.plural](std::exception_ptr e) {
                auto self = weak.lock();
                if (!self || self->stopping_ || self->failure_)
                    return;
                self->failure_ =
                    e ? e
                      : std::make_exception_ptr(std::runtime_error("the watch of " + resource + " ended"));
                if (self->failed_)
                    self->failed_->cancel();
            });
        }
        // A handler added after the start learns what the others already know.
        for (auto& h : std::exchange(s->late, {})) {
            for (const object_ptr& o : s->watch->cache().list())
                h(watcher_event{watcher_event::type::applied, o, nullptr});
            if (s->watch->synced())
                h(watcher_event{watcher_event::type::synced, nullptr, nullptr});
            s->handlers.push_back(std::move(h));
        }
    }
}

awaitable<void> informer_cache::run() {
    auto self = shared_from_this();
    auto executor = co_await asio::this_coro::executor;
    if (stopping_)
        throw std::logic_error("informer_cache: run() after the last run ended");
    if (!tasks_) {
        tasks_ = std::make_unique<detail::task_group>(executor);
        failed_.emplace(executor, clock::time_point::max());
    }
    ++runners_;
    try {
        start_pending();
        while (!failure_) {
            co_await failed_->async_wait(use_tuple);
            asio::cancellation_state cs = co_await asio::this_coro::cancellation_state;
            if (cancelled(cs))
                break;
        }
    } catch (const std::system_error& e) {
        if (e.code() != asio::error::operation_aborted && !failure_)
            failure_ = std::current_exception();
    } catch (...) {
        if (!failure_)
            failure_ = std::current_exception();
    }
    if (failure_ && failed_)
        failed_->cancel(); // every other caller ends too
    // The last one out stops the watchers, without throwing on cancellation so that cancelling
    // again cannot skip the wait; the caller's setting is restored at the end.
    bool throws = co_await asio::this_coro::throw_if_cancelled();
    co_await asio::this_coro::throw_if_cancelled(false);
    co_await asio::this_coro::reset_cancellation_state();
    if (--runners_ == 0) {
        stopping_ = true;
        tasks_->cancel();
        co_await tasks_->join_until(clock::now() + std::chrono::seconds(5));
        // Nothing of the io_context is kept: the cache may outlive it.
        tasks_.reset();
        failed_.reset();
    }
    co_await asio::this_coro::throw_if_cancelled(throws);
    if (failure_)
        std::rethrow_exception(failure_);
}

} // namespace kubecoro::runtime
