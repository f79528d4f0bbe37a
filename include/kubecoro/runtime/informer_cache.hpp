// The caches of a process, shared by its controllers: one list and one watch per resource kind
// (and namespaces and selectors), however many controllers read that kind. Each controller adds
// its handler; the cache keeps what any of them projects and indexes.
//
//   auto informers = std::make_shared<runtime::informer_cache>(client, log);
//   controller_builder("a", client).informers(informers)...;   // both watch ConfigMaps:
//   controller_builder("b", client).informers(informers)...;   // one watch between them
#pragma once

#include <kubecoro/client/client.hpp>
#include <kubecoro/core/asio.hpp>
#include <kubecoro/log/log.hpp>
#include <kubecoro/runtime/watcher.hpp>

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace kubecoro::runtime {

namespace detail {
class task_group;
}

class informer_cache : public std::enable_shared_from_this<informer_cache> {
public:
    using source_factory = std::function<watch_source(const api::resource&)>;

    // Watches through `client`, or through `make_source` when given (tests). `log` gets the
    // watch failures.
    informer_cache(std::shared_ptr<client::client> client, log::logger log, source_factory make_source = {});
    ~informer_cache();

    // The watcher of config's resource, namespaces and selectors, made on first use; `handler`
    // gets its events too. One that has not started yet grows to keep and index what `config`
    // asks as well. One already running is shared when it keeps at least that much: the new
    // handler is first told of every cached object (and that it synced) when run() is next
    // called. Otherwise `config` gets a watcher of its own.
    std::shared_ptr<watcher> watch(watcher_config config, watcher_handler handler);

    // Runs the watchers for as long as any caller runs it: each call starts what is not started
    // yet; the last one to be cancelled stops them all, for good. Throws (in every caller) when
    // a watcher ends by itself, which it does only by failing.
    awaitable<void> run();

    // Watchers made so far.
    std::size_t size() const { return watches_.size(); }

private:
    struct shared_watch;

    void start_pending();

    std::shared_ptr<client::client> client_;
    log::logger log_;
    source_factory make_source_;
    std::vector<std::shared_ptr<shared_watch>> watches_;
    std::unique_ptr<detail::task_group> tasks_;
    std::optional<asio::steady_timer> failed_; // cancelled when a watcher fails
    std::size_t runners_ = 0;
    bool stopping_ = false;
    std::exception_ptr failure_;
};

} // namespace kubecoro::runtime
