// Kubernetes shapes (Status, ObjectMeta, watch events, lists) read from and written to value trees.
#include "read.hpp"
#include <kubecoro/json/json.hpp>

#include <limits>

namespace kubecoro::json {
namespace {

std::string string_at(const value& v, std::string_view key) {
    const value* x = v.at(key);
    return x ? x->string_or("") : std::string();
}

int int_at(const value& v, std::string_view key) {
    const value* x = v.at(key);
    const std::int64_t i = x ? x->int_or(0) : 0;
    return i >= std::numeric_limits<int>::min() && i <= std::numeric_limits<int>::max() ? static_cast<int>(i)
                                                                                        : 0;
}

// managedFields is often most of an object's bytes and no controller reads it: never built.
constexpr std::string_view event_skip[] = {"object", "metadata", "managedFields"};
constexpr std::string_view list_skip[] = {"items", "*", "metadata", "managedFields"};

core::failure shape_error(std::string what) {
    return core::fail(errc::type, "json: " + std::move(what));
}

// For messages: a short, printable excerpt of a value that came off the wire.
std::string excerpt(std::string_view s) {
    constexpr std::size_t limit = 32;
    std::string out;
    for (char c : s.substr(0, limit))
        out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
    if (s.size() > limit)
        out += "...";
    return out;
}

} // namespace

api::status decode_status_object(const value& v) {
    api::status s;
    s.code = int_at(v, "code");
    s.status = string_at(v, "status");
    s.reason = string_at(v, "reason");
    s.message = string_at(v, "message");
    if (const value* details = v.at("details")) {
        s.details_name = string_at(*details, "name");
        s.details_kind = string_at(*details, "kind");
        s.retry_after_seconds = int_at(*details, "retryAfterSeconds");
        if (const value* causes = details->at("causes"))
            if (const array* a = causes->if_array())
                for (const value& c : *a)
                    if (c.is_object())
                        s.causes.push_back(
                            {string_at(c, "reason"), string_at(c, "message"), string_at(c, "field")});
    }
    return s;
}

core::result<api::status> decode_status(std::string_view text) {
    auto root = parse(text);
    if (!root)
        return core::fail(std::move(root).error());
    if (!root->is_object())
        return shape_error("Status: not an object");
    if (const value* kind = root->at("kind"); kind && kind->string_or("") != "Status")
        return shape_error("Status: kind is \"" + excerpt(kind->string_or("")) + "\"");
    return decode_status_object(*root);
}

namespace {

// v[key] of a const tree, or of a tree whose strings read_meta moves out.
template <class Value>
auto* member_at(Value& v, std::string_view key) {
    auto* o = v.if_object();
    return o ? o->find(key) : nullptr;
}

// The string at v[key]: copied out of a const tree, moved out of a tree about to be dropped.
template <class Value>
std::string take_string(Value& v, std::string_view key) {
    auto* x = member_at(v, key);
    auto* s = x ? x->if_string() : nullptr;
    return s ? std::move(*s) : std::string();
}

template <class Value>
api::string_map take_string_map(Value& v, std::string_view key, std::string_view except = {}) {
    api::string_map out;
    auto* x = member_at(v, key);
    if (auto* o = x ? x->if_object() : nullptr)
        for (auto& [k, e] : *o)
            if (auto* s = e.if_string(); s && k != except)
                out.set(k, *s);
    out.shrink_to_fit();
    return out;
}

constexpr std::string_view last_applied = "kubectl.kubernetes.io/last-applied-configuration";

template <class Value>
api::object_meta read_meta(Value& meta) {
    api::object_meta m;
    m.name = take_string(meta, "name");
    m.namespace_ = take_string(meta, "namespace");
    m.uid = take_string(meta, "uid");
    m.resource_version = take_string(meta, "resourceVersion");
    if (const value* g = meta.at("generation"))
        m.generation = static_cast<long>(g->int_or(0));
    m.creation_timestamp = take_string(meta, "creationTimestamp");
    if (const value* d = meta.at("deletionTimestamp"); d && d->is_string())
        m.deletion_timestamp = *d->if_string();
    m.labels = take_string_map(meta, "labels");
    m.annotations = take_string_map(meta, "annotations", last_applied);
    if (const value* refs = meta.at("ownerReferences"))
        if (const array* a = refs->if_array())
            for (const value& r : *a) {
                if (!r.is_object())
                    continue;
                api::owner_reference& o = m.owner_references.emplace_back();
                o.api_version = api::interned(string_at(r, "apiVersion"));
                o.kind = api::interned(string_at(r, "kind"));
                o.name = api::interned(string_at(r, "name"));
                o.uid = api::interned(string_at(r, "uid"));
                const value* c = r.at("controller");
                o.controller = c && c->bool_or(false);
                const value* b = r.at("blockOwnerDeletion");
                o.block_owner_deletion = b && b->bool_or(false);
            }
    if (const value* fs = meta.at("finalizers"))
        if (const array* a = fs->if_array())
            for (const value& f : *a)
                if (const std::string* s = f.if_string())
                    m.finalizers.push_back(*s);
    return m;
}

} // namespace

api::object_meta decode_meta(const value& object_tree) {
    const value* meta = object_tree.at("metadata");
    if (!meta || !meta->is_object())
        return {};
    return read_meta(*meta);
}

api::object_meta take_meta(value& object_tree) {
    object* o = object_tree.if_object();
    value* meta = o ? o->find("metadata") : nullptr;
    api::object_meta m;
    if (meta && meta->is_object())
        m = read_meta(*meta);
    if (o)
        o->erase("metadata");
    return m;
}

namespace {

template <class Map>
value encode_pairs(const Map& m) {
    std::vector<member> members;
    members.reserve(m.size());
    for (const auto& [k, s] : m)
        members.emplace_back(std::string(std::string_view(k)), value(std::string(std::string_view(s))));
    return value(object(std::move(members)));
}

} // namespace

value encode_string_map(const std::map<std::string, std::string>& m) {
    return encode_pairs(m);
}

value encode_string_map(const api::string_map& m) {
    return encode_pairs(m);
}

value encode_meta(const api::object_meta& meta) {
    object out;
    auto set_string = [&out](const char* key, const std::string& s) {
        if (!s.empty())
            out.set(key, value(s));
    };
    set_string("name", meta.name);
    set_string("namespace", meta.namespace_);
    set_string("uid", meta.uid);
    set_string("resourceVersion", meta.resource_version);
    if (meta.generation != 0)
        out.set("generation", value(meta.generation));
    set_string("creationTimestamp", meta.creation_timestamp);
    if (meta.deletion_timestamp)
        out.set("deletionTimestamp", value(*meta.deletion_timestamp));
    if (!meta.labels.empty())
        out.set("labels", encode_string_map(meta.labels));
    if (!meta.annotations.empty())
        out.set("annotations", encode_string_map(meta.annotations));
    if (!meta.owner_references.empty()) {
        array refs;
        refs.reserve(meta.owner_references.size());
        for (const api::owner_reference& r : meta.owner_references) {
            object o{{"apiVersion", value(r.api_version)},
                     {"kind", value(r.kind)},
                     {"name", value(r.name)},
                     {"uid", value(r.uid)}};
            if (r.controller)
                o.set("controller", value(true));
            if (r.block_owner_deletion)
                o.set("blockOwnerDeletion", value(true));
            refs.emplace_back(std::move(o));
        }
        out.set("ownerReferences", value(std::move(refs)));
    }
    if (!meta.finalizers.empty()) {
        array fs(meta.finalizers.begin(), meta.finalizers.end());
        out.set("finalizers", value(std::move(fs)));
    }
    return value(std::move(out));
}

core::result<watch_event> decode_watch_event(std::string_view line) {
    auto root = parse_skipping(line, event_skip);
    if (!root)
        return core::fail(std::move(root).error());
    object* o = root->if_object();
    if (!o)
        return shape_error("watch event: not an object");
    const value* type = o->find("type");
    const std::string* name = type ? type->if_string() : nullptr;
    if (!name)
        return shape_error("watch event: no type");
    watch_event ev;
    if (*name == "ADDED")
        ev.type = event_type::added;
    else if (*name == "MODIFIED")
        ev.type = event_type::modified;
    else if (*name == "DELETED")
        ev.type = event_type::deleted;
    else if (*name == "BOOKMARK")
        ev.type = event_type::bookmark;
    else if (*name == "ERROR")
        ev.type = event_type::error;
    else
        return shape_error("watch event: unknown type \"" + excerpt(*name) + "\"");
    value* obj = o->find("object");
    if (!obj || !obj->is_object())
        return shape_error("watch event: no object");
    ev.object = std::move(*obj);
    return ev;
}

core::result<object_list> decode_list(std::string_view text) {
    return decode_list(text, {});
}

core::result<object_list> decode_list(std::string_view text, const std::function<value(value)>& reduce) {
    object_list list;
    auto root = parse_items(text, list_skip, [&](value item) {
        list.items.push_back(reduce && item.is_object() ? reduce(std::move(item)) : std::move(item));
    });
    if (!root)
        return core::fail(std::move(root).error());
    object* o = root->if_object();
    if (!o)
        return shape_error("list: not an object");
    if (const value* meta = o->find("metadata")) {
        list.resource_version = string_at(*meta, "resourceVersion");
        list.continue_token = string_at(*meta, "continue");
    }
    // Go writes an empty slice as null; an array was taken apart above.
    if (const value* items = o->find("items"); items && !items->is_null())
        return shape_error("list: items is not an array");
    return list;
}

} // namespace kubecoro::json
