#include "database/password.hpp"

#include <kubecoro/core/errc.hpp>

#include <openssl/rand.h>

#include <array>

namespace kubecoro::controllers::database {

static_assert(password_alphabet.size() == 64);

core::result<std::string> generate_password() {
    std::array<unsigned char, password_length> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
        return core::fail(core::errc::io, "the random number generator failed");
    std::string out;
    out.reserve(bytes.size());
    for (unsigned char b : bytes)
        out += password_alphabet[b & 63];
    OPENSSL_cleanse(bytes.data(), bytes.size());
    return out;
}

} // namespace kubecoro::controllers::database
