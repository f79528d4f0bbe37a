#pragma once

#include <system_error>

namespace kubecoro::config {

enum class errc {
    no_configuration = 1, // nothing to load
    unreadable,           // a file could not be read
    malformed,            // YAML/JSON that does not parse or has the wrong shape
    missing_field,        // a required field is absent
    unknown_context,
    exec_failed, // the credential plugin failed or printed something unusable
};

const std::error_category& category() noexcept;
std::error_code make_error_code(errc e) noexcept;

} // namespace kubecoro::config

template <>
struct std::is_error_code_enum<kubecoro::config::errc> : std::true_type {};
