#include <kubecoro/config/cluster_config.hpp>
#include <kubecoro/config/detail/file.hpp>
#include <kubecoro/config/errc.hpp>

#include <cerrno>
#include <cstdlib>

namespace kubecoro::config {

core::result<cluster_config> in_cluster(const std::string& root) {
    const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
    const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host || !port || !*port)
        return core::fail(errc::no_configuration,
                          "in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
    const std::string_view h = host;
    const bool ipv6 = h.find(':') != std::string_view::npos && h.front() != '[';

    cluster_config out;
    // Appended piecewise: g++ 12 -O3 warns falsely (-Wrestrict) on chained operator+ here.
    out.server = "https://";
    out.server.append(ipv6 ? "[" : "").append(h).append(ipv6 ? "]" : "").append(":").append(port);
    out.origin = "in-cluster service account " + root;
    out.in_cluster = true;

    // The token is re-read by the client (it rotates); read it now only to fail early.
    out.token_file = root + "/token";
    auto token = detail::read_file(out.token_file);
    if (!token)
        return core::fail(errc::unreadable, "in-cluster: token " + std::move(token).error().message);
    if (detail::trim(*token).empty())
        return core::fail(errc::missing_field, "in-cluster: token " + out.token_file + " is empty");

    auto ca = detail::read_file(root + "/ca.crt");
    if (!ca)
        return core::fail(errc::unreadable, "in-cluster: ca.crt " + std::move(ca).error().message);
    out.ca_pem = std::move(*ca);

    auto ns = detail::read_file(root + "/namespace");
    if (ns)
        out.namespace_ = std::string(detail::trim(*ns));
    else if (ns.error().code != std::errc::no_such_file_or_directory)
        return core::fail(errc::unreadable, "in-cluster: namespace " + std::move(ns).error().message);
    return out;
}

} // namespace kubecoro::config
