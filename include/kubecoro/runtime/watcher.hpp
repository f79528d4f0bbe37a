// Keeps a store of one resource in sync with the API server: for each namespace, a paginated
// list then a watch, driven by watcher_fsm. Calls its handler on the io_context's thread.
#pragma once

#include <kubecoro/api/resource.hpp>
#include <kubecoro/client/client.hpp>
#include <kubecoro/core/asio.hpp>
#include <kubecoro/core/backoff.hpp>
#include <kubecoro/runtime/reflector.hpp>
#include <kubecoro/runtime/watcher_fsm.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace kubecoro::runtime {

using namespace std::chrono_literals;

struct watcher_config {
    api::resource resource;
    std::vector<std::string> namespaces{""}; // "" = all namespaces (or a cluster-scoped resource)
    std::string label_selector;
    std::string field_selector;
    projection project = keep_all();
    std::vector<std::string> indexed_labels; // label keys the store indexes (store::labelled)
    // A page is parsed whole (the parser touches about 4 bytes per byte of the answer): 100 pods
    // are about 0.5 MB. With client-go's 500, a restart on 1000 Databases peaked about 10 MB
    // higher (BENCHMARKS.md, 2026-12-07).
    long page_size = 100;
    // The server ends each watch after a random time in [min, max), spreading reconnects.
    std::chrono::seconds min_watch_timeout = 240s;
    std::chrono::seconds max_watch_timeout = 300s;
    core::backoff_config backoff = core::watcher_backoff;
};

// Where a watcher reads from: the API server through a client, or a script in tests.
struct watch_source {
    // The next event of an open watch; std::nullopt when the server ended it cleanly.
    using next_fn = std::function<awaitable<core::result<std::optional<json::watch_event>>>()>;
    // One page; its items may come already reduced to what `keep` keeps (runtime::reduced).
    std::function<awaitable<core::result<json::object_list>>(
        std::string ns, api::list_options o, const projection& keep)>
        list;
    // Opens a watch; the returned function reads it (dropping it closes the watch).
    std::function<awaitable<core::result<next_fn>>(std::string ns, api::watch_options o)> watch;
};
watch_source client_source(std::shared_ptr<client::client> client, api::resource r);

class watcher : public std::enable_shared_from_this<watcher> {
public:
    watcher(std::shared_ptr<client::client> client, watcher_config config, watcher_handler handler);
    watcher(watch_source source, watcher_config config, watcher_handler handler);

    // Lists and watches until cancelled (through the awaiting coroutine's cancellation slot).
    // Failures are retried forever with backoff; each is reported through `on_error`.
    awaitable<void> run();

    const store& cache() const { return *store_; }
    std::shared_ptr<const store> cache_ptr() const { return store_; }
    const watcher_config& config() const { return config_; }
    // Before run(): keeps what `p` keeps as well, and indexes `labels` too.
    void widen(const projection& p, const std::vector<std::string>& labels);
    // True once every namespace finished its first list.
    bool synced() const { return synced_ >= config_.namespaces.size(); }

    // Called for each failed list or watch (for logs); optional.
    std::function<void(const watcher_config&, std::string_view ns, const core::error&)> on_error;

private:
    awaitable<void> run_namespace(std::string ns);
    awaitable<void> list_page(const std::string& ns,
                              watcher_fsm& fsm,
                              const watcher_action& action,
                              std::vector<object_ptr>& pending);
    awaitable<void> watch(const std::string& ns, watcher_fsm& fsm, const watcher_action& action);
    awaitable<void> fail(std::string ns, watcher_fsm& fsm, core::error e);

    watch_source source_;
    watcher_config config_;
    watcher_handler handler_;
    std::shared_ptr<store> store_;
    reflector reflector_;
    packer packer_; // this kind's dictionary
    std::size_t synced_ = 0;
    std::minstd_rand rng_;
};

} // namespace kubecoro::runtime
