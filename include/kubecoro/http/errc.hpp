#pragma once

#include <system_error>

namespace kubecoro::http {

enum class errc {
    bad_status_line = 1,
    bad_field,
    head_too_large,
    bad_content_length,
    bad_chunk,
    body_too_large,
    line_too_long,
    unexpected_eof,
    bad_request_line,            // request_parser: malformed method, target or version
    unsupported_transfer_coding, // request_parser: Transfer-Encoding in a request (answer 501)
};

const std::error_category& category() noexcept;
std::error_code make_error_code(errc e) noexcept;

} // namespace kubecoro::http

template <>
struct std::is_error_code_enum<kubecoro::http::errc> : std::true_type {};
