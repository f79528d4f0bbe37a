// The cache of one watched resource: objects by "namespace/name", an index of children by their
// controller owner's UID, and indexes by the label keys asked for. Pure; written only by its
// watcher, read by reconcilers.
#pragma once

#include <kubecoro/runtime/object.hpp>

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace kubecoro::runtime {

struct store_change {
    object_ptr object;
    object_ptr old;
};

// What a relist changed, for the controller to enqueue.
struct store_diff {
    std::vector<object_ptr> added;
    std::vector<store_change> changed; // resourceVersion differs
    std::vector<object_ptr> removed;
    bool empty() const { return added.empty() && changed.empty() && removed.empty(); }
};

class store {
public:
    // nullptr when absent.
    object_ptr get(std::string_view key) const;
    object_ptr get(std::string_view ns, std::string_view name) const;
    std::vector<object_ptr> list() const;
    std::vector<object_ptr> list_namespace(std::string_view ns) const;
    // Objects whose controller ownerReference has this UID.
    std::vector<object_ptr> owned_by(std::string_view owner_uid) const;
    // Objects in `ns` labelled key=value; `key` must be one of indexed_labels().
    std::vector<object_ptr> labelled(std::string_view ns, std::string_view key, std::string_view value) const;
    std::size_t size() const { return objects_.size(); }

    // Indexes these label keys too (rebuilding the indexes).
    void index_labels(const std::vector<std::string>& keys);
    const std::set<std::string, std::less<>>& indexed_labels() const { return label_keys_; }

    // Inserts or replaces; returns the previous object (nullptr when new).
    object_ptr upsert(object_ptr o);
    // Returns the removed object (nullptr when absent).
    object_ptr erase(std::string_view key);

    // A completed relist: `objects` become the contents of `scope_ns` ("" = the whole store) in
    // one step, so no reader sees objects vanish and come back. Objects outside the scope stay.
    store_diff replace_all(std::vector<object_ptr> objects, std::string_view scope_ns = {});

private:
    // `key`: objects_'s own copy.
    void index(std::string_view key, const object& o);
    void unindex(std::string_view key, const object& o);

    std::map<std::string, object_ptr, std::less<>> objects_;
    void reindex();

    // The indexes hold views of the keys in objects_ (a map's keys stay where they are until
    // erased, and an object is unindexed before).
    std::map<std::string, std::set<std::string_view>, std::less<>> by_owner_;
    std::set<std::string, std::less<>> label_keys_;
    // "namespace\nkey\nvalue" -> object keys
    std::map<std::string, std::set<std::string_view>, std::less<>> by_label_;
};

} // namespace kubecoro::runtime
