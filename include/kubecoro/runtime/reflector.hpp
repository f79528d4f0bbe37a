// Applies what a watcher receives to its store and says what changed. Pure: the watcher driver
// feeds it lists and watch events; tests feed it directly.
#pragma once

#include <kubecoro/json/json.hpp>
#include <kubecoro/runtime/store.hpp>

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

namespace kubecoro::runtime {

struct watcher_event {
    enum class type {
        applied, // created or changed: `object`, and `old` (nullptr when new to the store)
        deleted, // `object` is its last known state
        synced,  // every stream of the watcher completed its first list
    };
    type kind = type::applied;
    object_ptr object;
    object_ptr old;
};

using watcher_handler = std::function<void(const watcher_event&)>;

class reflector {
public:
    reflector(std::shared_ptr<store> cache, watcher_handler handler);

    // A completed (re)list of `scope_ns` ("" = everything): swaps the store, then reports the diff.
    void replace(std::vector<object_ptr> objects, std::string_view scope_ns);
    // An ADDED/MODIFIED/DELETED event (other types are ignored).
    void apply(json::event_type type, object_ptr o);

    const std::shared_ptr<store>& cache() const { return store_; }

private:
    void emit(watcher_event::type kind, object_ptr o, object_ptr old);

    std::shared_ptr<store> store_;
    watcher_handler handler_;
};

} // namespace kubecoro::runtime
