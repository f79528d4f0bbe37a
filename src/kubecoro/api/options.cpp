#include <kubecoro/api/options.hpp>
#include <kubecoro/api/resource.hpp>

namespace kubecoro::api {

namespace {
class query_builder {
public:
    query_builder& add(std::string_view key, std::string_view value) {
        q_.append(q_.empty() ? "?" : "&").append(key).append("=").append(url_encode(value));
        return *this;
    }
    query_builder& add_if(std::string_view key, std::string_view value) {
        return value.empty() ? *this : add(key, value);
    }
    std::string str() && { return std::move(q_); }

private:
    std::string q_;
};
} // namespace

const char* content_type(patch_type t) {
    switch (t) {
    case patch_type::merge:
        return "application/merge-patch+json";
    case patch_type::json:
        return "application/json-patch+json";
    case patch_type::strategic:
        return "application/strategic-merge-patch+json";
    case patch_type::apply:
        return "application/apply-patch+yaml";
    }
    return "application/merge-patch+json";
}

const char* to_string(propagation p) {
    switch (p) {
    case propagation::foreground:
        return "Foreground";
    case propagation::background:
        return "Background";
    case propagation::orphan:
        return "Orphan";
    case propagation::unset:
        break;
    }
    return "";
}

std::string query(const list_options& o) {
    query_builder q;
    q.add_if("labelSelector", o.label_selector).add_if("fieldSelector", o.field_selector);
    if (o.limit > 0)
        q.add("limit", std::to_string(o.limit));
    q.add_if("continue", o.continue_token).add_if("resourceVersion", o.resource_version);
    return std::move(q).str();
}

std::string query(const watch_options& o) {
    query_builder q;
    q.add("watch", "1")
        .add_if("labelSelector", o.label_selector)
        .add_if("fieldSelector", o.field_selector)
        .add_if("resourceVersion", o.resource_version);
    if (o.allow_bookmarks)
        q.add("allowWatchBookmarks", "true");
    if (o.timeout_seconds > 0)
        q.add("timeoutSeconds", std::to_string(o.timeout_seconds));
    return std::move(q).str();
}

std::string query(const patch_options& o) {
    query_builder q;
    q.add_if("fieldManager", o.field_manager);
    if (o.force)
        q.add("force", "true");
    return std::move(q).str();
}

std::string query(const patch_options& o, patch_type t) {
    // The API server rejects force=true on anything but server-side apply.
    auto effective = o;
    effective.force = o.force && t == patch_type::apply;
    return query(effective);
}

std::string query(const delete_options& o) {
    query_builder q;
    q.add_if("propagationPolicy", to_string(o.propagation_policy));
    if (o.grace_period_seconds)
        q.add("gracePeriodSeconds", std::to_string(*o.grace_period_seconds));
    return std::move(q).str();
}

} // namespace kubecoro::api
