// Server-side apply for controllers: they render the fields they own and apply them with force,
// as the single manager of those fields.
#pragma once

#include <kubecoro/api/object_meta.hpp>
#include <kubecoro/api/resource.hpp>
#include <kubecoro/client/client.hpp>
#include <kubecoro/core/asio.hpp>
#include <kubecoro/core/result.hpp>
#include <kubecoro/json/value.hpp>

#include <string>

namespace kubecoro::runtime {

// Applies `object` (apiVersion and kind are filled in from `r` when absent) with force=true.
awaitable<core::result<json::value>>
apply(client::client& c, api::resource r, json::value object, std::string field_manager);
// The same through the status subresource: `object` holds metadata.name (and namespace) and status.
awaitable<core::result<json::value>>
apply_status(client::client& c, api::resource r, json::value object, std::string field_manager);

// Makes an apply conditional on the object still being at `resource_version` (409 Conflict
// otherwise): a status computed from a stale cache is refused instead of written.
void require_resource_version(json::value& apply_body, const std::string& resource_version);

// A controller reference to `owner` (controller=true, blockOwnerDeletion=true).
api::owner_reference
owner_reference_to(const api::object_meta& owner, std::string api_version, std::string kind);
inline api::owner_reference owner_reference_to(const api::object_meta& owner, const api::resource& r) {
    return owner_reference_to(owner, r.api_version(), r.kind);
}
// An ownerReferences entry for an apply body.
json::value to_json(const api::owner_reference& ref);

} // namespace kubecoro::runtime
