// Small local files (certificates, tokens, kubeconfigs): read whole, errors as values.
#pragma once

#include <kubecoro/core/result.hpp>

#include <string>
#include <string_view>

namespace kubecoro::config::detail {

// Fails with the errno as the code (so callers can tell ENOENT apart) and "<path>: <reason>".
core::result<std::string> read_file(const std::string& path);

// Drops leading and trailing ASCII whitespace (token files often end with a newline).
std::string_view trim(std::string_view s);

} // namespace kubecoro::config::detail
