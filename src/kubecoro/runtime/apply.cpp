#include <kubecoro/runtime/apply.hpp>

namespace kubecoro::runtime {

namespace {

// apiVersion and kind first, as in the YAML the body mirrors.
json::value with_type(json::value object, const api::resource& r) {
    json::object* fields = object.if_object();
    if (!fields)
        return object;
    json::object typed;
    typed.set("apiVersion",
              fields->find("apiVersion") ? *fields->find("apiVersion") : json::value(r.api_version()));
    typed.set("kind", fields->find("kind") ? *fields->find("kind") : json::value(r.kind));
    for (auto& [key, v] : *fields)
        if (key != "apiVersion" && key != "kind")
            typed.set(key, std::move(v));
    return typed;
}

awaitable<core::result<json::value>> apply_to(client::client& c,
                                              api::resource r,
                                              json::value object,
                                              std::string field_manager,
                                              std::string subresource) {
    api::patch_options options;
    options.field_manager = std::move(field_manager);
    options.force = true;
    options.subresource = std::move(subresource);
    json::value body = with_type(std::move(object), r);
    co_return co_await c.apply(std::move(r), std::move(body), std::move(options));
}

} // namespace

awaitable<core::result<json::value>>
apply(client::client& c, api::resource r, json::value object, std::string field_manager) {
    return apply_to(c, std::move(r), std::move(object), std::move(field_manager), "");
}

awaitable<core::result<json::value>>
apply_status(client::client& c, api::resource r, json::value object, std::string field_manager) {
    return apply_to(c, std::move(r), std::move(object), std::move(field_manager), "status");
}

api::owner_reference
owner_reference_to(const api::object_meta& owner, std::string api_version, std::string kind) {
    api::owner_reference ref;
    ref.api_version = api::interned(api_version);
    ref.kind = api::interned(kind);
    ref.name = api::interned(owner.name);
    ref.uid = api::interned(owner.uid);
    ref.controller = true;
    ref.block_owner_deletion = true;
    return ref;
}

json::value to_json(const api::owner_reference& ref) {
    return json::object{
        {"apiVersion", ref.api_version.str()},
        {"kind", ref.kind.str()},
        {"name", ref.name.str()},
        {"uid", ref.uid.str()},
        {"controller", ref.controller},
        {"blockOwnerDeletion", ref.block_owner_deletion},
    };
}

void require_resource_version(json::value& apply_body, const std::string& resource_version) {
    if (auto* o = apply_body.if_object())
        if (auto* meta = (*o)["metadata"].if_object())
            meta->set("resourceVersion", resource_version);
}

} // namespace kubecoro::runtime
