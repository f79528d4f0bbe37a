#include <kubecoro/runtime/store.hpp>

namespace kubecoro::runtime {

namespace {

// The controller owner's uid; "" when there is none.
std::string_view owner_uid(const object& o) {
    const api::owner_reference* ref = o.meta.controller_ref();
    return ref ? ref->uid.view() : std::string_view();
}

std::string label_slot(std::string_view ns, std::string_view key, std::string_view value) {
    std::string slot;
    slot.reserve(ns.size() + key.size() + value.size() + 2);
    slot.append(ns).append(1, '\n').append(key).append(1, '\n').append(value);
    return slot;
}

} // namespace

object_ptr store::get(std::string_view key) const {
    auto it = objects_.find(key);
    return it == objects_.end() ? nullptr : it->second;
}

object_ptr store::get(std::string_view ns, std::string_view name) const {
    return get(object_key(ns, name));
}

std::vector<object_ptr> store::list() const {
    std::vector<object_ptr> out;
    out.reserve(objects_.size());
    for (const auto& [key, o] : objects_)
        out.push_back(o);
    return out;
}

std::vector<object_ptr> store::list_namespace(std::string_view ns) const {
    std::vector<object_ptr> out;
    for (const auto& [key, o] : objects_)
        if (o->meta.namespace_ == ns)
            out.push_back(o);
    return out;
}

std::vector<object_ptr> store::owned_by(std::string_view uid) const {
    std::vector<object_ptr> out;
    auto it = by_owner_.find(uid);
    if (it == by_owner_.end())
        return out;
    for (std::string_view key : it->second)
        if (object_ptr o = get(key))
            out.push_back(std::move(o));
    return out;
}

std::vector<object_ptr>
store::labelled(std::string_view ns, std::string_view key, std::string_view value) const {
    std::vector<object_ptr> out;
    auto it = by_label_.find(label_slot(ns, key, value));
    if (it == by_label_.end())
        return out;
    for (std::string_view k : it->second)
        if (object_ptr o = get(k))
            out.push_back(std::move(o));
    return out;
}

void store::index_labels(const std::vector<std::string>& keys) {
    label_keys_.insert(keys.begin(), keys.end());
    reindex();
}

void store::index(std::string_view key, const object& o) {
    if (std::string_view uid = owner_uid(o); !uid.empty())
        by_owner_[std::string(uid)].insert(key);
    for (const std::string& label : label_keys_)
        if (auto it = o.meta.labels.find(label); it != o.meta.labels.end())
            by_label_[label_slot(o.meta.namespace_, label, it->second)].insert(key);
}

void store::unindex(std::string_view key, const object& o) {
    auto drop = [key](auto& index, std::string_view slot) {
        auto it = index.find(slot);
        if (it == index.end())
            return;
        it->second.erase(key);
        if (it->second.empty())
            index.erase(it);
    };
    if (std::string_view uid = owner_uid(o); !uid.empty())
        drop(by_owner_, uid);
    for (const std::string& label : label_keys_)
        if (auto it = o.meta.labels.find(label); it != o.meta.labels.end())
            drop(by_label_, label_slot(o.meta.namespace_, label, it->second));
}

void store::reindex() {
    by_owner_.clear();
    by_label_.clear();
    for (const auto& [key, o] : objects_)
        index(key, *o);
}

object_ptr store::upsert(object_ptr o) {
    std::string key = object_key(o->meta);
    object_ptr old;
    auto it = objects_.find(key);
    if (it != objects_.end()) {
        unindex(it->first, *it->second);
        old = std::exchange(it->second, o);
    } else {
        it = objects_.emplace(std::move(key), o).first;
    }
    index(it->first, *o);
    return old;
}

object_ptr store::erase(std::string_view key) {
    auto it = objects_.find(key);
    if (it == objects_.end())
        return nullptr;
    object_ptr old = std::move(it->second);
    unindex(it->first, *old);
    objects_.erase(it);
    return old;
}

store_diff store::replace_all(std::vector<object_ptr> objects, std::string_view scope_ns) {
    auto in_scope = [&](const object& o) { return scope_ns.empty() || o.meta.namespace_ == scope_ns; };
    store_diff diff;
    std::map<std::string, object_ptr, std::less<>> next;
    for (object_ptr& o : objects) {
        std::string key = object_key(o->meta);
        if (object_ptr old = get(key)) {
            if (old->meta.resource_version != o->meta.resource_version)
                diff.changed.push_back({o, old});
        } else {
            diff.added.push_back(o);
        }
        next.insert_or_assign(std::move(key), std::move(o));
    }
    for (const auto& [key, o] : objects_) {
        if (!in_scope(*o))
            next.emplace(key, o);
        else if (!next.count(key))
            diff.removed.push_back(o);
    }
    objects_ = std::move(next);
    reindex();
    return diff;
}

} // namespace kubecoro::runtime
