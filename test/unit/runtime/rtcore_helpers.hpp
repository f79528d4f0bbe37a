// Builders for cached objects in the runtime's tests.
#pragma once

#include <kubecoro/runtime/object.hpp>

#include <memory>
#include <string>

namespace kubecoro::runtime::test {

struct object_spec {
    std::string ns = "default";
    std::string name;
    std::string rv = "1";
    std::string uid;
    long generation = 0;
    std::string owner_uid; // a controller ownerReference when set
    std::string owner_kind = "Widget";
    std::string owner_api_version = "example.com/v1";
    std::string owner_name = "owner";
    json::value body = json::object{};
};

inline object_ptr make(object_spec s) {
    auto o = std::make_shared<object>();
    o->meta.namespace_ = s.ns;
    o->meta.name = s.name;
    o->meta.resource_version = s.rv;
    o->meta.uid = s.uid.empty() ? "uid-" + s.name : s.uid;
    o->meta.generation = s.generation;
    if (!s.owner_uid.empty()) {
        api::owner_reference ref;
        ref.api_version = api::interned(s.owner_api_version);
        ref.kind = api::interned(s.owner_kind);
        ref.name = api::interned(s.owner_name);
        ref.uid = api::interned(s.owner_uid);
        ref.controller = true;
        o->meta.owner_references.push_back(ref);
    }
    o->body = std::move(s.body);
    return o;
}

inline object_ptr with(const object_ptr& base, auto&& change) {
    auto o = std::make_shared<object>(*base);
    change(*o);
    return o;
}

} // namespace kubecoro::runtime::test
