// Standard base64 (RFC 4648 with padding), as Go's encoding/base64.StdEncoding reads it: the form
// of kubeconfig *-data fields and of Secret data. Line breaks are ignored; anything else outside
// the alphabet, missing padding or data after the padding is an error.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kubecoro::core {

// nullopt when `text` is not padded standard base64.
std::optional<std::string> base64_decode(std::string_view text);
std::string base64_encode(std::string_view bytes);

} // namespace kubecoro::core
