#include <kubecoro/json/json.hpp>
#include <kubecoro/runtime/object.hpp>

#include <algorithm>

namespace kubecoro::runtime {

namespace {

json::object take_type(json::value& decoded) {
    json::object kept;
    if (json::object* o = decoded.if_object()) {
        for (const char* key : {"apiVersion", "kind"})
            if (json::value* v = o->find(key))
                kept.set(key, std::move(*v));
    }
    return kept;
}

// Moves decoded[path...] into kept[path...], creating the intermediate objects.
void copy_path(json::value& decoded, json::object& kept, const std::vector<std::string>& path) {
    json::value* from = &decoded;
    for (const std::string& key : path) {
        json::object* o = from->if_object();
        from = o ? o->find(key) : nullptr;
        if (!from)
            return;
    }
    json::object* to = &kept;
    for (std::size_t i = 0; i + 1 < path.size(); ++i) {
        json::value& next = (*to)[path[i]];
        if (!next.is_object())
            next = json::object{};
        to = next.if_object();
    }
    to->set(path.back(), std::move(*from));
}

} // namespace

namespace {

bool same_at(const json::value* x, const json::value* y) {
    return x == y || (x && y && *x == *y);
}

// `path` is `prefix` or lies under it.
bool under(const std::vector<std::string>& path, const std::vector<std::string>& prefix) {
    return prefix.size() <= path.size() && std::equal(prefix.begin(), prefix.end(), path.begin());
}

} // namespace

projection projection::paths(std::vector<std::vector<std::string>> paths) {
    std::vector<std::vector<std::string>> kept;
    for (auto& p : paths) {
        if (p.empty())
            continue;
        bool covered = false;
        for (const auto& q : paths)
            if (!q.empty() && q != p && under(p, q))
                covered = true;
        for (const auto& q : kept)
            if (q == p)
                covered = true;
        if (!covered)
            kept.push_back(p);
    }
    std::sort(kept.begin(), kept.end());
    return projection(false, std::move(kept));
}

json::value projection::operator()(json::value decoded) const {
    if (all_)
        return decoded;
    json::object kept = take_type(decoded);
    for (const auto& path : paths_)
        copy_path(decoded, kept, path);
    return json::value(std::move(kept));
}

bool projection::same(const json::value& a, const json::value& b) const {
    if (all_)
        return a == b;
    for (const char* key : {"apiVersion", "kind"})
        if (!same_at(a.at(key), b.at(key)))
            return false;
    for (const auto& path : paths_) {
        const json::value* x = &a;
        const json::value* y = &b;
        for (const std::string& key : path) {
            x = x ? x->at(key) : nullptr;
            y = y ? y->at(key) : nullptr;
        }
        if (!same_at(x, y))
            return false;
    }
    return true;
}

projection projection::merged(const projection& other) const {
    if (all_ || other.all_)
        return everything();
    auto both = paths_;
    both.insert(both.end(), other.paths_.begin(), other.paths_.end());
    return paths(std::move(both));
}

bool projection::covers(const projection& other) const {
    if (all_)
        return true;
    if (other.all_)
        return false;
    for (const auto& p : other.paths_)
        if (std::none_of(paths_.begin(), paths_.end(), [&](const auto& q) { return under(p, q); }))
            return false;
    return true;
}

projection keep_all() {
    return projection::everything();
}

projection keep_paths(std::vector<std::vector<std::string>> paths) {
    return projection::paths(std::move(paths));
}

projection keep_metadata() {
    return projection::paths({});
}

void packer::compress(object& o) {
    if (o.packed.size() >= reference_size && (!dictionary_ || o.packed.size() >= 2 * dictionary_->size()))
        if (auto bigger = compress::dictionary::make(o.packed))
            dictionary_ = std::move(bigger);
    if (!dictionary_)
        return;
    if (auto bytes = dictionary_->compress(o.packed)) {
        o.packed = std::move(*bytes);
        o.dictionary = dictionary_;
    }
}

object_ptr make_object(json::value decoded, const projection& project, packer* p) {
    auto o = std::make_shared<object>();
    o->meta = json::take_meta(decoded);
    o->packed = json::write(project(std::move(decoded)));
    if (p)
        p->compress(*o);
    o->packed.shrink_to_fit(); // written by appending: up to twice the text's size
    return o;
}

bool same_packed(const object& a, const object& b) {
    return !a.packed.empty() && a.dictionary == b.dictionary && a.packed == b.packed;
}

object_ptr with_tree(object_ptr o) {
    if (!o || o->packed.empty())
        return o;
    auto copy = std::make_shared<object>();
    copy->meta = o->meta;
    copy->body = o->tree();
    return copy;
}

json::value object::tree() const {
    if (packed.empty())
        return body;
    std::string text;
    std::string_view written = packed;
    if (dictionary) {
        auto plain = dictionary->decompress(packed); // made by compress: it decompresses
        if (!plain)
            return json::value();
        text = std::move(*plain);
        written = text;
    }
    auto decoded = json::parse(written); // written by json::write: it parses
    return decoded ? std::move(*decoded) : json::value();
}

const json::value& object::view(json::value& scratch) const {
    if (packed.empty())
        return body;
    scratch = tree();
    return scratch;
}

json::value reduced(json::value decoded, const projection& project) {
    if (project.keeps_everything() || !decoded.is_object())
        return decoded;
    json::value meta;
    if (json::value* m = decoded.if_object()->find("metadata")) {
        meta = std::move(*m);
        decoded.if_object()->erase("metadata");
    }
    json::value kept = project(std::move(decoded));
    kept.if_object()->set("metadata", std::move(meta));
    return kept;
}

std::string object_key(std::string_view ns, std::string_view name) {
    std::string key;
    key.reserve(ns.size() + name.size() + 1);
    if (!ns.empty()) {
        key.append(ns);
        key.push_back('/');
    }
    key.append(name);
    return key;
}

json::value whole(const object& o) {
    return whole(o, o.tree());
}

json::value whole(const object& o, json::value body) {
    if (auto* fields = body.if_object())
        fields->set("metadata", json::encode_meta(o.meta));
    return body;
}

} // namespace kubecoro::runtime
