// Inside the json module: parsing that leaves subtrees out while building the owned tree.
#pragma once

#include <kubecoro/core/result.hpp>
#include <kubecoro/json/value.hpp>

#include <span>
#include <string_view>

namespace kubecoro::json {

// parse(), except that the members at the path `skip` (keys from the root; "*" matches any
// array item) are never built, e.g. {"object", "metadata", "managedFields"}.
core::result<value> parse_skipping(std::string_view text, std::span<const std::string_view> skip);

} // namespace kubecoro::json
