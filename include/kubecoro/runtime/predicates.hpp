// Which watch events deserve a reconcile. Our own status writes must not wake the controller
// again, or every reconcile would cause the next one.
#pragma once

#include <kubecoro/api/resource.hpp>
#include <kubecoro/runtime/object.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kubecoro::runtime {

// The object a reconcile is about.
struct reconcile_request {
    std::string namespace_;
    std::string name;

    std::string key() const { return object_key(namespace_, name); }
    bool operator==(const reconcile_request&) const = default;
};

// "ns/name" or "name" back into a request.
reconcile_request request_from_key(std::string_view key);
reconcile_request request_for(const api::object_meta& meta);

// A primary changed in a way its reconcile reads: created (old == nullptr), generation, labels,
// annotations, finalizers or deletionTimestamp. For resources without metadata.generation
// (ConfigMaps, Secrets), any change outside "status".
bool primary_changed(const object* old, const object& now);

// An owned child's projection changed (metadata other than resourceVersion, or what `seen`
// keeps of the body: a shared cache may keep more than this controller reads), or it is new.
bool projection_changed(const object* old, const object& now, const projection& seen = keep_all());

// The request for the child's controller owner when that owner is of `owner`'s kind and group.
std::optional<reconcile_request> owner_request(const api::object_meta& child, const api::resource& owner);

// The group of an ownerReference's apiVersion ("apps/v1" -> "apps", "v1" -> "").
std::string_view api_group(std::string_view api_version);

} // namespace kubecoro::runtime
