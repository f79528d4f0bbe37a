// Pieces every child object shares: metadata with labels and a controller owner reference,
// label selectors, base64 for Secret data.
#pragma once

#include <kubecoro/api/object_meta.hpp>
#include <kubecoro/core/base64.hpp>
#include <kubecoro/json/value.hpp>
#include <kubecoro/runtime/conditions.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace kubecoro::controllers {

using label_map = std::map<std::string, std::string>;

inline constexpr std::string_view group_version = "kubecoro.dev/v1alpha1";
inline constexpr std::string_view managed_by = "kubecoro";

// metadata {name, namespace (the owner's), labels, ownerReferences} of a child; no owner
// reference when `owner_kind` is empty. The reference makes the owner (of `owner_kind` in
// group_version) the child's controller: the child is garbage collected with it, and foreground
// deletion of the owner waits for it.
json::value child_metadata(std::string_view name,
                           const api::object_meta& owner,
                           const label_map& labels,
                           std::string_view owner_kind);

// {"apiVersion", "kind", "metadata"}: the start of every apply configuration.
json::object object_header(std::string_view api_version, std::string_view kind, json::value metadata);

// "k1=v1,k2=v2" in key order, the form of status.selector and list calls' labelSelector.
std::string selector_string(const label_map& labels);

// Secret data is padded standard base64 (RFC 4648).
using core::base64_decode;
using core::base64_encode;

using runtime::clip_message;

// The decimal integer at the start of s ("16" from "16.4-alpine"), if any.
std::optional<int> leading_integer(std::string_view s);

} // namespace kubecoro::controllers
