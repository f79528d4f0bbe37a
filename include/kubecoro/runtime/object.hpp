// What the runtime caches of a watched object: its metadata as an owned struct and a projection
// of the rest. Objects are immutable once made and shared between the store, events and
// reconcilers.
//
// The cache keeps the projection as compact JSON text (`packed`), a quarter of a tree's size
// (a 1.2 KB Database: 1.3 KB as text, 5.1 KB as a tree), decoded when read: a reconcile gets its
// primary as a tree (with_tree), other readers decode what they read (view, tree). A watcher's
// packer also compresses the text against the first one of its kind (objects of a kind differ in
// a few bytes: a Database's 8.8 KB StatefulSet is about 0.3 KB so).
#pragma once

#include <kubecoro/api/object_meta.hpp>
#include <kubecoro/compress/dictionary.hpp>
#include <kubecoro/json/value.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kubecoro::runtime {

struct object {
    api::object_meta meta;
    // The projected object without "metadata" (read it from `meta`): for primaries usually the
    // whole object, for children the few fields their owner reads. Exactly one of the two is
    // set: `packed` as compact JSON text (what make_object makes: the cache), or `body` as a tree
    // (with_tree, objects made by hand).
    json::value body;
    std::string packed;
    // When set, `packed` is the text compressed against this dictionary.
    std::shared_ptr<const compress::dictionary> dictionary;

    // The projected object as a tree whichever way it is kept: a copy...
    json::value tree() const;
    // ...or `body` itself, or `packed` decoded into `scratch` (for a read that ends before either).
    const json::value& view(json::value& scratch) const;
};

using object_ptr = std::shared_ptr<const object>;

// Decides what of a decoded object (already without "metadata") is kept in memory: everything,
// or apiVersion, kind and some paths. A value, so that the caches of two controllers watching the
// same kind can be one that keeps what either reads.
class projection {
public:
    static projection everything() { return projection(true, {}); }
    // Nested paths under a kept one are dropped: keeping "spec" keeps "spec.replicas".
    static projection paths(std::vector<std::vector<std::string>> paths);

    json::value operator()(json::value decoded) const;
    // What this projection keeps is equal in both bodies (which may keep more).
    bool same(const json::value& a, const json::value& b) const;
    // Keeps what either keeps.
    projection merged(const projection& other) const;
    // Keeps at least everything `other` keeps.
    bool covers(const projection& other) const;
    bool keeps_everything() const { return all_; }

private:
    projection(bool all, std::vector<std::vector<std::string>> paths)
        : all_(all)
        , paths_(std::move(paths)) {}

    bool all_ = false;
    std::vector<std::vector<std::string>> paths_;
};

// Keeps everything (primaries).
projection keep_all();
// Keeps apiVersion, kind and the listed paths, e.g. {{"status", "readyReplicas"}, {"spec", "replicas"}}
// (owned children: metadata plus what the owner reads).
projection keep_paths(std::vector<std::vector<std::string>> paths);
// Keeps apiVersion and kind only.
projection keep_metadata();

// The cached object as one tree again (metadata included).
json::value whole(const object& o);
// The same from `body`, o's body already decoded (o.tree()).
json::value whole(const object& o, json::value body);

// Packs the projected bodies of one watched kind (a watcher has one): the first text of at least
// `reference_size` bytes becomes the dictionary the others are compressed against, where that
// saves a quarter or more (a Secret's random data does not compress: it stays text). A text
// twice the dictionary's size replaces it for the texts after it (a kind's first object may be a
// small one), so a kind changes dictionary a few times at most.
class packer {
public:
    static constexpr std::size_t reference_size = 128;
    // o.packed (its JSON text) compressed in place where that pays.
    void compress(object& o);

private:
    std::shared_ptr<const compress::dictionary> dictionary_;
};

// Splits a decoded object into meta and the projected body, packed (by `p` when given, else as
// plain text).
object_ptr make_object(json::value decoded, const projection& project, packer* p = nullptr);
// Both keep the same body (their packed bytes are equal, made the same way).
bool same_packed(const object& a, const object& b);
// `o` with its body as a tree: itself when it has one, else a copy decoded from `packed`.
object_ptr with_tree(object_ptr o);
// What make_object keeps of a decoded object (metadata whole, the rest projected), still as one
// tree: make_object of it gives the same object.
json::value reduced(json::value decoded, const projection& project);

// "namespace/name", or "name" for cluster-scoped objects (client-go's MetaNamespaceKeyFunc).
std::string object_key(std::string_view ns, std::string_view name);
inline std::string object_key(const api::object_meta& meta) {
    return object_key(meta.namespace_, meta.name);
}

} // namespace kubecoro::runtime
