// RFC 9110/9112 building blocks shared by the response and request parsers (private to http).
#pragma once

#include <kubecoro/core/result.hpp>
#include <kubecoro/http/message.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kubecoro::http::detail {

inline bool is_ows(char c) noexcept {
    return c == ' ' || c == '\t';
}
bool is_tchar(char c) noexcept;
bool is_token(std::string_view s) noexcept;
bool iequals(std::string_view a, std::string_view b) noexcept;

// "HTTP/1.x": the minor version digit, or nullopt.
std::optional<int> parse_http1_version(std::string_view s) noexcept;

inline std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && is_ows(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back()))
        s.remove_suffix(1);
    return s;
}

// Calls f(element) for each non-empty element of a comma-separated field value, trimmed.
template <class F>
void for_each_element(std::string_view list, F&& f) {
    while (true) {
        auto comma = list.find(',');
        auto element = trim_ows(list.substr(0, comma));
        if (!element.empty())
            f(element);
        if (comma == std::string_view::npos)
            return;
        list.remove_prefix(comma + 1);
    }
}

// A field line without its CRLF. obs-fold (a line starting with SP/HTAB) is rejected.
core::result<field> parse_field_line(std::string_view line);

// True when a comma-separated list in any field called `name` holds `token` (case-insensitive).
bool has_token(const std::vector<field>& fields, std::string_view name, std::string_view token);

// All Content-Length values agree and are valid: that value; no Content-Length: nullopt.
core::result<std::optional<std::size_t>> content_length(const std::vector<field>& fields);

// Appends `in` up to and including its first '\n' to `line`. nullopt when `line` would exceed
// `limit` bytes; otherwise the bytes taken. The line is complete when it ends in '\n'.
std::optional<std::size_t> take_line(std::string& line, std::string_view in, std::size_t limit);
inline bool line_complete(const std::string& line) noexcept {
    return !line.empty() && line.back() == '\n';
}

// A complete line without its CRLF; nullopt when it ended in a bare LF or holds another CR.
std::optional<std::string_view> strip_crlf(std::string_view line) noexcept;

} // namespace kubecoro::http::detail
