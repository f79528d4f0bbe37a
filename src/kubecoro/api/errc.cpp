#include <kubecoro/api/errc.hpp>
#include <kubecoro/core/error_category.hpp>

#include <string_view>

namespace kubecoro::api {
namespace {
const char* describe(errc e) noexcept {
    switch (e) {
    case errc::bad_request:
        return "bad request";
    case errc::unauthorized:
        return "unauthorized";
    case errc::forbidden:
        return "forbidden";
    case errc::not_found:
        return "not found";
    case errc::method_not_allowed:
        return "method not allowed";
    case errc::already_exists:
        return "already exists";
    case errc::conflict:
        return "conflict";
    case errc::gone:
        return "gone";
    case errc::invalid:
        return "invalid";
    case errc::too_many_requests:
        return "too many requests";
    case errc::server_error:
        return "internal server error";
    case errc::service_unavailable:
        return "service unavailable";
    case errc::server_timeout:
        return "server timeout";
    case errc::unexpected_status:
        return "unexpected status";
    case errc::decode:
        return "undecodable response";
    }
    return nullptr;
}

// metav1.StatusReason values, for answers without a usable HTTP status (watch ERROR events).
errc errc_from_reason(std::string_view reason) {
    if (reason == "BadRequest")
        return errc::bad_request;
    if (reason == "Unauthorized")
        return errc::unauthorized;
    if (reason == "Forbidden")
        return errc::forbidden;
    if (reason == "NotFound")
        return errc::not_found;
    if (reason == "MethodNotAllowed")
        return errc::method_not_allowed;
    if (reason == "AlreadyExists")
        return errc::already_exists;
    if (reason == "Conflict")
        return errc::conflict;
    if (reason == "Gone" || reason == "Expired")
        return errc::gone;
    if (reason == "Invalid")
        return errc::invalid;
    if (reason == "TooManyRequests")
        return errc::too_many_requests;
    if (reason == "InternalError")
        return errc::server_error;
    if (reason == "ServiceUnavailable")
        return errc::service_unavailable;
    return errc::unexpected_status;
}
} // namespace

const std::error_category& category() noexcept {
    static const core::enum_category<errc> instance{"kubecoro.api", describe};
    return instance;
}
std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), category()};
}

errc errc_from_status(int http_status, const char* reason) {
    std::string_view r = reason ? reason : "";
    // "Timeout" comes with 504; "ServerTimeout" with 500: both mean "try again later".
    if (r == "Timeout" || r == "ServerTimeout")
        return errc::server_timeout;
    switch (http_status) {
    case 400:
        return errc::bad_request;
    case 401:
        return errc::unauthorized;
    case 403:
        return errc::forbidden;
    case 404:
        return errc::not_found;
    case 405:
        return errc::method_not_allowed;
    case 409:
        return r == "AlreadyExists" ? errc::already_exists : errc::conflict;
    case 410:
        return errc::gone;
    case 422:
        return errc::invalid;
    case 429:
        return errc::too_many_requests;
    case 500:
        return errc::server_error;
    case 503:
        return errc::service_unavailable;
    case 504:
        return errc::server_timeout;
    case 0:
        return errc_from_reason(r);
    default:
        return errc::unexpected_status;
    }
}

} // namespace kubecoro::api
