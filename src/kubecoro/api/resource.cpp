#include <kubecoro/api/resource.hpp>

namespace kubecoro::api {

std::string resource::api_version() const {
    return group.empty() ? version : group + "/" + version;
}

std::string
path(const resource& r, std::string_view ns, std::string_view name, std::string_view subresource) {
    std::string p = r.group.empty() ? "/api/" + r.version : "/apis/" + r.group + "/" + r.version;
    // Cluster-scoped objects live outside namespaces whatever the caller passed.
    if (r.scope == scope::namespaced && !ns.empty())
        p.append("/namespaces/").append(url_encode(ns));
    p.append("/").append(r.plural);
    if (!name.empty()) {
        p.append("/").append(url_encode(name));
        if (!subresource.empty())
            p.append("/").append(url_encode(subresource));
    }
    return p;
}

std::string url_encode(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        bool unreserved = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
                          u == '-' || u == '.' || u == '_' || u == '~';
        if (unreserved) {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(hex[u >> 4]);
            out.push_back(hex[u & 0xf]);
        }
    }
    return out;
}

} // namespace kubecoro::api
