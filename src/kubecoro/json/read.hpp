// Inside the json module: parsing that leaves subtrees out while building the owned tree.
#pragma once

#include <kubecoro/core/result.hpp>
#include <kubecoro/json/value.hpp>

#include <functional>
#include <span>
#include <string_view>

namespace kubecoro::json {

// parse(), except that the members at the path `skip` (keys from the root; "*" matches any
// array item) are never built, e.g. {"object", "metadata", "managedFields"}.
core::result<value> parse_skipping(std::string_view text, std::span<const std::string_view> skip);

// parse_skipping() of an object whose member `items` is an array (a list): each item is built
// and handed to `each` before the next one is built, so the items never exist as one tree; the
// root comes back without "items" (with it when it is not an array, for the caller to refuse).
core::result<value> parse_items(std::string_view text,
                                std::span<const std::string_view> skip,
                                const std::function<void(value)>& each);

} // namespace kubecoro::json
