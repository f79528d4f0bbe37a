#include "embedded_manifests.hpp"
#include <kubecoro/core/errc.hpp>
#include <kubecoro/manager/manifests.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <span>

namespace kubecoro::manager {
namespace {

bool is_alnum_lower(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// RFC 1123 label, as Kubernetes requires of namespace names.
bool is_dns_label(std::string_view s) {
    return !s.empty() && s.size() <= 63 && is_alnum_lower(s.front()) && is_alnum_lower(s.back()) &&
           std::all_of(s.begin(), s.end(), [](char c) { return is_alnum_lower(c) || c == '-'; });
}

bool is_plain_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '/' || c == ':' || c == '@' || c == '-';
}

// A YAML scalar that reads back as the string s: plain when no YAML 1.1 reader (kubectl's) could
// take it for anything else (a boolean such as `y` or `off`, null, a number), else double-quoted.
std::string yaml_string(std::string_view s) {
    static constexpr std::array<std::string_view, 9> words{
        "y", "n", "yes", "no", "on", "off", "true", "false", "null"};
    bool plain =
        !s.empty() && std::isalpha(static_cast<unsigned char>(s.front())) &&
        std::all_of(s.begin(), s.end(), is_plain_char) &&
        std::none_of(words.begin(), words.end(), [s](std::string_view w) {
            return s.size() == w.size() && std::equal(s.begin(), s.end(), w.begin(), [](char a, char b) {
                       return std::tolower(static_cast<unsigned char>(a)) == b;
                   });
        });
    if (plain)
        return std::string(s);
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + '"';
}

struct substitution {
    std::string_view key;  // `key: from` becomes `key: to`
    std::string_view from; // the whole value, as manifests/ has it
    std::string to;
};

// Rewrites one line `<indent>[- ]key: value` whose value is one of the substitutions'.
void substitute_line(std::string_view line, std::span<const substitution> subs, std::string& out) {
    std::size_t at = line.find_first_not_of(' ');
    if (at != std::string_view::npos && line.substr(at, 2) == "- ")
        at += 2;
    if (at != std::string_view::npos) {
        std::string_view rest = line.substr(at);
        for (const auto& s : subs) {
            if (rest.size() == s.key.size() + 2 + s.from.size() && rest.starts_with(s.key) &&
                rest.substr(s.key.size(), 2) == ": " && rest.ends_with(s.from)) {
                out.append(line.substr(0, at + s.key.size() + 2));
                out.append(s.to);
                return;
            }
        }
    }
    out.append(line);
}

} // namespace

core::result<std::string> render_manifests(const manifests_options& options) {
    if (!is_dns_label(options.namespace_))
        return core::fail(core::errc::invalid_argument,
                          "namespace \"" + options.namespace_ +
                              "\": must be a DNS label (lower-case letters, digits and '-', at most 63)");
    if (options.image.empty() || !std::all_of(options.image.begin(), options.image.end(), [](char c) {
            return static_cast<unsigned char>(c) > ' ' && c != '\x7f';
        }))
        return core::fail(core::errc::invalid_argument,
                          "image \"" + options.image + "\": must be non-empty, without spaces");

    const std::array<substitution, 3> subs{{
        {"namespace", default_manifests_namespace, yaml_string(options.namespace_)},
        {"name", default_manifests_namespace, yaml_string(options.namespace_)}, // the Namespace itself
        {"image", default_manifests_image, yaml_string(options.image)},
    }};
    std::string out;
    bool first = true;
    for (const auto& file : detail::embedded_manifests()) {
        if (!first)
            out += "---\n";
        first = false;
        std::string_view text = file.text;
        while (!text.empty()) {
            std::size_t eol = text.find('\n');
            std::string_view line = text.substr(0, eol);
            substitute_line(line, subs, out);
            out += '\n';
            text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
        }
    }
    return out;
}

} // namespace kubecoro::manager
