#include <kubecoro/api/errc.hpp>
#include <kubecoro/client/client.hpp>
#include <kubecoro/config/errc.hpp>
#include <kubecoro/core/errc.hpp>
#include <kubecoro/http/errc.hpp>
#include <kubecoro/net/errc.hpp>

namespace kubecoro::client {

bool is_retryable(const core::error& e) {
    const auto& code = e.code;
    const auto& cat = code.category();
    if (cat == api::category()) {
        switch (static_cast<api::errc>(code.value())) {
        case api::errc::conflict:
        case api::errc::too_many_requests:
        case api::errc::server_error:
        case api::errc::service_unavailable:
        case api::errc::server_timeout:
            return true;
        case api::errc::unexpected_status:
            return e.http_status >= 500;
        default:
            return false; // 400, 401, 403, 404, 405, AlreadyExists, 410, 422, decode
        }
    }
    if (cat == core::category())
        // fenced: again later, by whoever leads then (this process exits when it lost the lease).
        return code == core::errc::timeout || code == core::errc::io || code == core::errc::fenced;
    if (cat == net::category())
        return code != net::errc::tls_config && code != net::errc::bad_address;
    // A response that does not parse: most likely a connection cut short.
    if (cat == http::category())
        return true;
    if (cat == config::category())
        return code == config::errc::exec_failed || code == config::errc::unreadable;
    // Operating-system errors from sockets and the like.
    return cat == std::system_category() || cat == std::generic_category();
}

} // namespace kubecoro::client
