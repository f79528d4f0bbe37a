#include <kubecoro/runtime/detail/task_group.hpp>
#include <kubecoro/runtime/watcher.hpp>

namespace kubecoro::runtime {

namespace {

using clock = std::chrono::steady_clock;

bool is_aborted(const std::system_error& e) {
    return e.code() == asio::error::operation_aborted;
}

awaitable<core::result<watch_source::next_fn>>
open_watch(std::shared_ptr<client::client> client, api::resource r, std::string ns, api::watch_options o) {
    auto opened = co_await client->watch(std::move(r), std::move(ns), std::move(o));
    if (!opened)
        co_return core::fail(std::move(opened).error());
    auto stream = std::make_shared<client::watch_stream>(std::move(*opened));
    co_return watch_source::next_fn([stream] { return stream->next(); });
}

} // namespace

watch_source client_source(std::shared_ptr<client::client> client, api::resource r) {
    watch_source s;
    // Each item reduced as it is decoded: a page of large objects never exists whole.
    s.list = [client, r](std::string ns, api::list_options o, const projection& keep) {
        return client->list(r, std::move(ns), std::move(o), [keep](json::value item) {
            return reduced(std::move(item), keep);
        });
    };
    s.watch = [client, r](std::string ns, api::watch_options o) {
        return open_watch(client, r, std::move(ns), std::move(o));
    };
    return s;
}

watcher::watcher(std::shared_ptr<client::client> client, watcher_config config, watcher_handler handler)
    : watcher(watch_source{}, std::move(config), std::move(handler)) {
    source_ = client_source(std::move(client), config_.resource);
}

watcher::watcher(watch_source source, watcher_config config, watcher_handler handler)
    : source_(std::move(source))
    , config_(std::move(config))
    , handler_(handler)
    , store_(std::make_shared<store>())
    , reflector_(store_, std::move(handler))
    , rng_(std::random_device{}()) {
    if (config_.namespaces.empty())
        config_.namespaces.push_back("");
    store_->index_labels(config_.indexed_labels);
}

void watcher::widen(const projection& p, const std::vector<std::string>& labels) {
    config_.project = config_.project.merged(p);
    store_->index_labels(labels);
    config_.indexed_labels.assign(store_->indexed_labels().begin(), store_->indexed_labels().end());
}

awaitable<void> watcher::run() {
    auto self = shared_from_this();
    auto executor = co_await asio::this_coro::executor;
    detail::task_group streams(executor);
    // Streams end only when cancelled, or by an exception: then the whole watcher ends with it.
    for (const std::string& ns : config_.namespaces)
        streams.spawn(run_namespace(ns), [&streams](std::exception_ptr) { streams.cancel(); });
    try {
        co_await streams.join();
    } catch (const std::system_error& e) {
        if (!is_aborted(e))
            throw;
    }
    // Cancelled streams end at their next co_await; wait for them without throwing again.
    bool throws = co_await asio::this_coro::throw_if_cancelled();
    co_await asio::this_coro::throw_if_cancelled(false);
    co_await asio::this_coro::reset_cancellation_state();
    streams.cancel();
    co_await streams.join();
    co_await asio::this_coro::throw_if_cancelled(throws);
    if (auto e = streams.first_exception())
        std::rethrow_exception(e);
}

awaitable<void> watcher::run_namespace(std::string ns) {
    auto self = shared_from_this();
    watcher_fsm fsm(config_.backoff, rng_());
    std::vector<object_ptr> pending;
    try {
        for (;;) {
            asio::cancellation_state cs = co_await asio::this_coro::cancellation_state;
            if (cancelled(cs))
                co_return;
            watcher_action action = fsm.next(clock::now());
            switch (action.kind) {
            case watcher_action::type::sleep: {
                auto executor = co_await asio::this_coro::executor;
                asio::steady_timer timer(executor, action.until);
                co_await timer.async_wait(use_tuple);
                break;
            }
            case watcher_action::type::list:
                co_await list_page(ns, fsm, action, pending);
                break;
            case watcher_action::type::watch:
                co_await watch(ns, fsm, action);
                break;
            }
        }
    } catch (const std::system_error& e) {
        if (!is_aborted(e))
            throw;
    }
}

awaitable<void> watcher::fail(std::string ns, watcher_fsm& fsm, core::error e) {
    // A failure caused by our own cancellation is no failure to report.
    asio::cancellation_state cs = co_await asio::this_coro::cancellation_state;
    if (!cancelled(cs) && on_error)
        on_error(config_, ns, e);
    fsm.on_error(e, clock::now());
}

awaitable<void> watcher::list_page(const std::string& ns,
                                   watcher_fsm& fsm,
                                   const watcher_action& action,
                                   std::vector<object_ptr>& pending) {
    if (action.continue_token.empty())
        pending.clear(); // a list starting over
    api::list_options options;
    options.label_selector = config_.label_selector;
    options.field_selector = config_.field_selector;
    options.limit = config_.page_size;
    options.continue_token = action.continue_token;
    auto page = co_await source_.list(ns, std::move(options), config_.project);
    if (!page) {
        co_await fail(ns, fsm, page.error());
        co_return;
    }
    // Projected at once: only what the controller reads stays in memory while pages accumulate.
    for (json::value& item : page->items)
        pending.push_back(make_object(std::move(item), config_.project, &packer_));
    page->items.clear();
    bool first = !fsm.listed();
    if (!fsm.on_page(std::move(page->resource_version), std::move(page->continue_token)))
        co_return;
    reflector_.replace(std::move(pending), ns);
    pending.clear();
    if (first && ++synced_ == config_.namespaces.size() && handler_)
        handler_(watcher_event{watcher_event::type::synced, nullptr, nullptr});
}

awaitable<void> watcher::watch(const std::string& ns, watcher_fsm& fsm, const watcher_action& action) {
    api::watch_options options;
    options.label_selector = config_.label_selector;
    options.field_selector = config_.field_selector;
    options.resource_version = action.resource_version;
    options.allow_bookmarks = true;
    long lo = config_.min_watch_timeout.count();
    long hi = std::max(lo + 1, static_cast<long>(config_.max_watch_timeout.count()));
    options.timeout_seconds = std::uniform_int_distribution<long>(lo, hi - 1)(rng_);
    auto next = co_await source_.watch(ns, std::move(options));
    if (!next) {
        co_await fail(ns, fsm, next.error());
        co_return;
    }
    for (;;) {
        auto event = co_await (*next)();
        if (!event) {
            co_await fail(ns, fsm, event.error());
            co_return;
        }
        if (!*event) {
            fsm.on_watch_ended();
            co_return;
        }
        json::watch_event& e = **event;
        if (e.type == json::event_type::error) {
            // The client turns ERROR events into failures; this is a fallback.
            api::status status = json::decode_status_object(e.object);
            core::error error = api::to_error(status.code, status);
            co_await fail(ns, fsm, std::move(error));
            co_return;
        }
        if (e.type == json::event_type::bookmark) {
            fsm.on_event(json::decode_meta(e.object).resource_version);
            continue;
        }
        object_ptr o = make_object(std::move(e.object), config_.project, &packer_);
        fsm.on_event(o->meta.resource_version);
        reflector_.apply(e.type, std::move(o));
    }
}

} // namespace kubecoro::runtime
