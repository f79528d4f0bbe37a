#include <kubecoro/json/json.hpp>
#include <kubecoro/runtime/object.hpp>

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

projection keep_all() {
    return [](json::value decoded) { return decoded; };
}

projection keep_paths(std::vector<std::vector<std::string>> paths) {
    return [paths = std::move(paths)](json::value decoded) {
        json::object kept = take_type(decoded);
        for (const auto& path : paths)
            if (!path.empty())
                copy_path(decoded, kept, path);
        return json::value(std::move(kept));
    };
}

projection keep_metadata() {
    return [](json::value decoded) { return json::value(take_type(decoded)); };
}

object_ptr make_object(json::value decoded, const projection& project) {
    auto o = std::make_shared<object>();
    o->meta = json::take_meta(decoded);
    o->body = project ? project(std::move(decoded)) : std::move(decoded);
    return o;
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
    json::value v = o.body;
    if (auto* fields = v.if_object())
        fields->set("metadata", json::encode_meta(o.meta));
    return v;
}

} // namespace kubecoro::runtime
