// Parameters of list, watch, patch and delete calls, and their query strings. No I/O.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace kubecoro::api {

struct list_options {
    std::string label_selector;
    std::string field_selector;
    long limit = 0; // 0: no pagination
    std::string continue_token;
    std::string resource_version;
};

struct watch_options {
    std::string label_selector;
    std::string field_selector;
    std::string resource_version;
    bool allow_bookmarks = true;
    long timeout_seconds = 0; // server-side timeout; 0: server default
};

enum class patch_type {
    merge,     // application/merge-patch+json
    json,      // application/json-patch+json
    strategic, // application/strategic-merge-patch+json
    apply,     // application/apply-patch+yaml (server-side apply)
};
const char* content_type(patch_type t);

struct patch_options {
    std::string field_manager; // required for apply
    bool force = false;        // apply: take fields from other managers
    std::string subresource;   // "status", "scale", or empty
};

enum class propagation { unset, foreground, background, orphan };

struct delete_options {
    propagation propagation_policy = propagation::unset;
    std::optional<std::string> precondition_uid;
    std::optional<std::string> precondition_resource_version;
    std::optional<long> grace_period_seconds;
};

// "Foreground", "Background", "Orphan"; "" for unset.
const char* to_string(propagation p);

// "?labelSelector=...&limit=..." (empty string when no parameter is set). Values are percent-encoded.
std::string query(const list_options& o);
// Always includes watch=1; allowWatchBookmarks=true when allow_bookmarks.
std::string query(const watch_options& o);
// fieldManager, and force=true when o.force is set (prefer the overload below, which knows the type).
std::string query(const patch_options& o);
// As above, but force=true only for patch_type::apply (the server rejects it elsewhere).
std::string query(const patch_options& o, patch_type t);
// propagationPolicy and gracePeriodSeconds; preconditions go in the DeleteOptions body.
std::string query(const delete_options& o);

} // namespace kubecoro::api
