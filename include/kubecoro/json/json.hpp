// Reading (simdjson) and writing (RapidJSON) JSON. The only module that includes either library;
// everything it returns is owned, so nothing here outlives a co_await as a view.
#pragma once

#include <kubecoro/api/object_meta.hpp>
#include <kubecoro/api/status.hpp>
#include <kubecoro/core/result.hpp>
#include <kubecoro/json/errc.hpp>
#include <kubecoro/json/value.hpp>

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kubecoro::json {

// Parses a whole document into an owned tree.
core::result<value> parse(std::string_view text);

// Writes compact JSON. Strings are escaped; doubles that are whole numbers print without exponent.
std::string write(const value& v);

// metav1.Status from an error response body.
core::result<api::status> decode_status(std::string_view text);
// The same from a tree already parsed (a watch ERROR event's object); missing fields stay empty.
api::status decode_status_object(const value& status_object);

// metadata of an object tree (v["metadata"]); missing fields stay empty. kubectl's
// last-applied-configuration annotation (a copy of the whole object, read by kubectl only) is not
// kept.
api::object_meta decode_meta(const value& object);
// The same, moving the strings out of the tree and removing its "metadata" (cheaper, for a tree
// that is kept without it).
api::object_meta take_meta(value& object);
// The object tree for metadata (only the fields that are set), for apply bodies.
value encode_meta(const api::object_meta& meta);
// {"k": "v", ...} in key order: labels, annotations, selectors.
value encode_string_map(const std::map<std::string, std::string>& m);
value encode_string_map(const api::string_map& m);

enum class event_type { added, modified, deleted, bookmark, error };

struct watch_event {
    event_type type = event_type::added;
    value object; // the object (for error: the Status object); managedFields removed
};
core::result<watch_event> decode_watch_event(std::string_view line);

struct object_list {
    std::string resource_version; // metadata.resourceVersion of the list
    std::string continue_token;   // metadata.continue
    std::vector<value> items;     // managedFields removed
};
core::result<object_list> decode_list(std::string_view text);
// ...with each item (an object) passed through `reduce` as soon as it is built, before the next
// one is: a page of large objects never exists whole, only what `reduce` keeps of it.
core::result<object_list> decode_list(std::string_view text, const std::function<value(value)>& reduce);

} // namespace kubecoro::json
