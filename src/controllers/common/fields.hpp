// Reading fields of a decoded object where absence is an answer: a string or "", an int or 0, an
// RFC 3339 timestamp (metav1.Time) or nothing.
#pragma once

#include <kubecoro/json/value.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace kubecoro::controllers {

// The string at `v`; "" when `v` is null or not a string.
std::string string_at(const json::value* v);
// The integer at `v`; 0 when `v` is null or not a number.
int int_at(const json::value* v);
// `t` read as RFC 3339; nothing when empty or malformed.
std::optional<std::chrono::system_clock::time_point> parse_time(const std::string& t);

} // namespace kubecoro::controllers
