#include <kubecoro/runtime/reflector.hpp>

namespace kubecoro::runtime {

reflector::reflector(std::shared_ptr<store> cache, watcher_handler handler)
    : store_(std::move(cache))
    , handler_(std::move(handler)) {}

void reflector::emit(watcher_event::type kind, object_ptr o, object_ptr old) {
    if (handler_)
        handler_(watcher_event{kind, std::move(o), std::move(old)});
}

void reflector::replace(std::vector<object_ptr> objects, std::string_view scope_ns) {
    store_diff diff = store_->replace_all(std::move(objects), scope_ns);
    for (object_ptr& o : diff.added)
        emit(watcher_event::type::applied, std::move(o), nullptr);
    for (store_change& c : diff.changed)
        emit(watcher_event::type::applied, std::move(c.object), std::move(c.old));
    for (object_ptr& o : diff.removed)
        emit(watcher_event::type::deleted, std::move(o), nullptr);
}

void reflector::apply(json::event_type type, object_ptr o) {
    switch (type) {
    case json::event_type::added:
    case json::event_type::modified: {
        object_ptr old = store_->upsert(o);
        // A watch resumed after a relist may replay what the list already showed.
        if (old && old->meta.resource_version == o->meta.resource_version)
            return;
        emit(watcher_event::type::applied, std::move(o), std::move(old));
        return;
    }
    case json::event_type::deleted: {
        object_ptr old = store_->erase(object_key(o->meta));
        emit(watcher_event::type::deleted, std::move(o), std::move(old));
        return;
    }
    case json::event_type::bookmark:
    case json::event_type::error:
        return;
    }
}

} // namespace kubecoro::runtime
