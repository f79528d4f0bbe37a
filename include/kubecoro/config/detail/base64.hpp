// Standard base64 (RFC 4648 with padding), as Go's encoding/base64.StdEncoding reads kubeconfig
// *-data fields: line breaks are ignored, anything else outside the alphabet is an error.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kubecoro::config::detail {

std::optional<std::string> base64_decode(std::string_view text);
std::string base64_encode(std::string_view bytes);

} // namespace kubecoro::config::detail
