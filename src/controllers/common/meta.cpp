#include "common/meta.hpp"

#include <kubecoro/json/json.hpp>

#include <cctype>

namespace kubecoro::controllers {

api::owner_reference controller_reference(const api::object_meta& owner, std::string_view kind) {
    return api::owner_reference{
        .api_version = std::string(group_version),
        .kind = std::string(kind),
        .name = owner.name,
        .uid = owner.uid,
        .controller = true,
        .block_owner_deletion = true,
    };
}

json::value child_metadata(std::string_view name,
                           const api::object_meta& owner,
                           const label_map& labels,
                           std::string_view owner_kind) {
    api::object_meta meta;
    meta.name = std::string(name);
    meta.namespace_ = owner.namespace_;
    meta.labels = labels;
    if (!owner_kind.empty())
        meta.owner_references.push_back(controller_reference(owner, owner_kind));
    return json::encode_meta(meta);
}

json::object object_header(std::string_view api_version, std::string_view kind, json::value metadata) {
    return json::object{{"apiVersion", api_version}, {"kind", kind}, {"metadata", std::move(metadata)}};
}

json::value to_json(const label_map& m) {
    json::object o;
    for (const auto& [k, v] : m)
        o.set(k, v);
    return o;
}

std::string selector_string(const label_map& labels) {
    std::string out;
    for (const auto& [k, v] : labels) {
        if (!out.empty())
            out += ',';
        out += k;
        out += '=';
        out += v;
    }
    return out;
}

std::string base64_encode(std::string_view bytes) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        unsigned n = static_cast<unsigned char>(bytes[i]) << 16 |
                     static_cast<unsigned char>(bytes[i + 1]) << 8 | static_cast<unsigned char>(bytes[i + 2]);
        out += alphabet[n >> 18 & 63];
        out += alphabet[n >> 12 & 63];
        out += alphabet[n >> 6 & 63];
        out += alphabet[n & 63];
    }
    if (std::size_t rest = bytes.size() - i; rest > 0) {
        unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
        if (rest == 2)
            n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
        out += alphabet[n >> 18 & 63];
        out += alphabet[n >> 12 & 63];
        out += rest == 2 ? alphabet[n >> 6 & 63] : '=';
        out += '=';
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0)
        return std::nullopt;
    auto sextet = [](char c) -> int {
        if (c >= 'A' && c <= 'Z')
            return c - 'A';
        if (c >= 'a' && c <= 'z')
            return c - 'a' + 26;
        if (c >= '0' && c <= '9')
            return c - '0' + 52;
        if (c == '+')
            return 62;
        if (c == '/')
            return 63;
        return -1;
    };
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        bool last = i + 4 == text.size();
        int pad = last ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
        if (pad == 1 && text[i + 2] == '=')
            return std::nullopt; // "x=y=" is not padding
        unsigned n = 0;
        for (int k = 0; k < 4 - pad; ++k) {
            int v = sextet(text[i + k]);
            if (v < 0)
                return std::nullopt;
            n |= static_cast<unsigned>(v) << (18 - 6 * k);
        }
        out += static_cast<char>(n >> 16 & 0xff);
        if (pad < 2)
            out += static_cast<char>(n >> 8 & 0xff);
        if (pad < 1)
            out += static_cast<char>(n & 0xff);
    }
    return out;
}

std::string clip_message(std::string message, std::size_t max) {
    if (message.size() <= max)
        return message;
    std::size_t cut = max >= 3 ? max - 3 : 0;
    while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80)
        --cut; // never split a multi-byte character
    message.resize(cut);
    message += "...";
    return message;
}

std::optional<int> leading_integer(std::string_view s) {
    int n = 0;
    std::size_t i = 0;
    for (; i < s.size() && i < 9 && std::isdigit(static_cast<unsigned char>(s[i])); ++i)
        n = n * 10 + (s[i] - '0');
    if (i == 0)
        return std::nullopt;
    return n;
}

} // namespace kubecoro::controllers
