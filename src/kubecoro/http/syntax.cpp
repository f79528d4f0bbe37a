#include "syntax.hpp"

#include <kubecoro/http/errc.hpp>

#include <algorithm>
#include <limits>

namespace kubecoro::http::detail {

namespace {
char lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
// Field values: VCHAR, SP, HTAB and obs-text; no other control characters.
bool is_field_value_char(char c) noexcept {
    auto u = static_cast<unsigned char>(c);
    return u == '\t' || (u >= 0x20 && u != 0x7f);
}
} // namespace

bool is_tchar(char c) noexcept {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) noexcept {
    return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

std::optional<int> parse_http1_version(std::string_view s) noexcept {
    if (s.size() != 8 || s.substr(0, 7) != "HTTP/1." || s[7] < '0' || s[7] > '9')
        return std::nullopt;
    return s[7] - '0';
}

core::result<field> parse_field_line(std::string_view line) {
    if (!line.empty() && is_ows(line.front()))
        return core::fail(errc::bad_field, "obsolete line folding in header field");
    auto colon = line.find(':');
    if (colon == std::string_view::npos)
        return core::fail(errc::bad_field, "header field without ':'");
    auto name = line.substr(0, colon);
    // Also rejects whitespace between the name and the colon (RFC 9112 section 5.1).
    if (!is_token(name))
        return core::fail(errc::bad_field, "invalid header field name");
    auto value = trim_ows(line.substr(colon + 1));
    if (!std::all_of(value.begin(), value.end(), is_field_value_char))
        return core::fail(errc::bad_field, "control character in header field value");
    return field{std::string(name), std::string(value)};
}

bool has_token(const std::vector<field>& fields, std::string_view name, std::string_view token) {
    bool found = false;
    for (const auto& f : fields) {
        if (iequals(f.name, name))
            for_each_element(f.value, [&](std::string_view e) { found = found || iequals(e, token); });
    }
    return found;
}

core::result<std::optional<std::size_t>> content_length(const std::vector<field>& fields) {
    std::optional<std::size_t> length;
    bool valid = true;
    for (const auto& f : fields) {
        if (!iequals(f.name, "content-length"))
            continue;
        bool any = false;
        // "Content-Length: 5, 5" and repeated fields are accepted when every value agrees.
        for_each_element(f.value, [&](std::string_view e) {
            any = true;
            std::size_t v = 0;
            for (char c : e) {
                if (c < '0' || c > '9' || v > (std::numeric_limits<std::size_t>::max() - 9) / 10) {
                    valid = false;
                    return;
                }
                v = v * 10 + static_cast<std::size_t>(c - '0');
            }
            if (length && *length != v)
                valid = false;
            length = v;
        });
        if (!any)
            valid = false;
    }
    if (!valid)
        return core::fail(errc::bad_content_length, "invalid or conflicting Content-Length");
    return length;
}

std::optional<std::size_t> take_line(std::string& line, std::string_view in, std::size_t limit) {
    auto nl = in.find('\n');
    std::size_t take = nl == std::string_view::npos ? in.size() : nl + 1;
    if (line.size() + take > limit)
        return std::nullopt;
    line.append(in.substr(0, take));
    return take;
}

std::optional<std::string_view> strip_crlf(std::string_view s) noexcept {
    if (s.size() < 2 || s.substr(s.size() - 2) != "\r\n")
        return std::nullopt;
    s.remove_suffix(2);
    if (s.find('\r') != std::string_view::npos)
        return std::nullopt;
    return s;
}

} // namespace kubecoro::http::detail
