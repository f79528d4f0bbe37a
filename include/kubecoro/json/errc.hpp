#pragma once

#include <system_error>

namespace kubecoro::json {

enum class errc {
    syntax = 1, // not JSON
    type,       // JSON of an unexpected shape
    too_deep,   // nesting beyond the limit
};

const std::error_category& category() noexcept;
std::error_code make_error_code(errc e) noexcept;

} // namespace kubecoro::json

template <>
struct std::is_error_code_enum<kubecoro::json::errc> : std::true_type {};
