#include <kubecoro/core/base64.hpp>

#include <array>
#include <cstdint>

namespace kubecoro::core {
namespace {
constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_table() {
    std::array<std::int8_t, 256> t{};
    for (auto& v : t)
        v = -1;
    for (std::size_t i = 0; i < alphabet.size(); ++i)
        t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return t;
}
constexpr auto table = make_table();
} // namespace

std::optional<std::string> base64_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size() / 4 * 3);
    std::uint32_t quad[4];
    int n = 0;       // symbols in the current quantum, padding included
    int padding = 0; // '=' seen in the current quantum
    bool done = false;
    for (char c : text) {
        if (c == '\r' || c == '\n')
            continue;
        if (done)
            return std::nullopt; // data after the final padded quantum
        if (c == '=') {
            if (n < 2)
                return std::nullopt;
            ++padding;
            quad[n++] = 0;
        } else {
            const std::int8_t v = table[static_cast<unsigned char>(c)];
            if (v < 0 || padding > 0)
                return std::nullopt;
            quad[n++] = static_cast<std::uint32_t>(v);
        }
        if (n == 4) {
            const std::uint32_t bits = quad[0] << 18 | quad[1] << 12 | quad[2] << 6 | quad[3];
            out.push_back(static_cast<char>(bits >> 16 & 0xff));
            if (padding < 2)
                out.push_back(static_cast<char>(bits >> 8 & 0xff));
            if (padding < 1)
                out.push_back(static_cast<char>(bits & 0xff));
            done = padding > 0;
            n = 0;
            padding = 0;
        }
    }
    if (n != 0)
        return std::nullopt; // unpadded or truncated
    return out;
}

std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t bits = static_cast<unsigned char>(bytes[i]) << 16 |
                                   static_cast<unsigned char>(bytes[i + 1]) << 8 |
                                   static_cast<unsigned char>(bytes[i + 2]);
        out.push_back(alphabet[bits >> 18 & 63]);
        out.push_back(alphabet[bits >> 12 & 63]);
        out.push_back(alphabet[bits >> 6 & 63]);
        out.push_back(alphabet[bits & 63]);
    }
    const std::size_t rest = bytes.size() - i;
    if (rest > 0) {
        std::uint32_t bits = static_cast<unsigned char>(bytes[i]) << 16;
        if (rest == 2)
            bits |= static_cast<unsigned char>(bytes[i + 1]) << 8;
        out.push_back(alphabet[bits >> 18 & 63]);
        out.push_back(alphabet[bits >> 12 & 63]);
        out.push_back(rest == 2 ? alphabet[bits >> 6 & 63] : '=');
        out.push_back('=');
    }
    return out;
}

} // namespace kubecoro::core
