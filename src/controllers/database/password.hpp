// Passwords for new databases, from OpenSSL's CSPRNG.
#pragma once

#include <kubecoro/core/result.hpp>

#include <string>
#include <string_view>

namespace kubecoro::controllers::database {

inline constexpr std::size_t password_length = 32;
// URL-safe (RFC 4648 base64url): no quoting needed in URIs, shells or SQL. 64 symbols, so one
// random byte masked to 6 bits picks each without bias: 192 bits of entropy.
inline constexpr std::string_view password_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Fails only when the CSPRNG cannot be seeded.
core::result<std::string> generate_password();

} // namespace kubecoro::controllers::database
