// The outcomes the API server reports, told apart by HTTP status and Status.reason.
#pragma once

#include <system_error>

namespace kubecoro::api {

enum class errc {
    bad_request = 1,     // 400
    unauthorized,        // 401
    forbidden,           // 403
    not_found,           // 404
    method_not_allowed,  // 405
    already_exists,      // 409 reason AlreadyExists
    conflict,            // 409 otherwise
    gone,                // 410 (watch: resourceVersion too old)
    invalid,             // 422
    too_many_requests,   // 429
    server_error,        // 500
    service_unavailable, // 503
    server_timeout,      // 504 or reason Timeout
    unexpected_status,   // anything else
    decode,              // the server's answer could not be decoded
};

const std::error_category& category() noexcept;
std::error_code make_error_code(errc e) noexcept;

// The errc for an HTTP status code and Status.reason ("" when absent).
errc errc_from_status(int http_status, const char* reason);

} // namespace kubecoro::api

template <>
struct std::is_error_code_enum<kubecoro::api::errc> : std::true_type {};
