// Generic error codes shared by every module.
#pragma once

#include <system_error>

namespace kubecoro::core {

enum class errc {
    timeout = 1,      // an operation ran past its deadline
    cancelled,        // the owner cancelled the operation
    invalid_argument, // a caller passed something unusable
    io,               // an operating-system level failure (file, process)
    not_supported,    // the server or platform lacks a feature we need
    fenced,           // a write refused before it was sent: this process may no longer act
};

const std::error_category& category() noexcept;
std::error_code make_error_code(errc e) noexcept;

} // namespace kubecoro::core

template <>
struct std::is_error_code_enum<kubecoro::core::errc> : std::true_type {};
