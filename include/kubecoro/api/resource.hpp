// Which API resource a request is about, and how to build its URL paths. No I/O.
#pragma once

#include <string>
#include <string_view>

namespace kubecoro::api {

enum class scope { namespaced, cluster };

struct resource {
    std::string group;                         // "" for the core group
    std::string version;                       // "v1"
    std::string plural;                        // "configmaps"
    std::string kind;                          // "ConfigMap"
    api::scope scope = api::scope::namespaced; // qualified: the member hides the type

    std::string api_version() const; // "v1" or "apps/v1"
    bool operator==(const resource&) const = default;
};

// "/api/v1/namespaces/ns/configmaps/name/status". Empty ns: all namespaces; cluster-scoped resources
// ignore ns. Empty name: the collection (a subresource needs a name and is dropped without one).
// Namespace, name and subresource are percent-encoded.
std::string
path(const resource& r, std::string_view ns, std::string_view name = {}, std::string_view subresource = {});

// Percent-encodes a query parameter value (RFC 3986 unreserved characters pass through).
std::string url_encode(std::string_view s);

} // namespace kubecoro::api
