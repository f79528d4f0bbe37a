// status.conditions by the Kubernetes API conventions (metav1.Condition): one entry per type,
// lastTransitionTime only moves when the status changes.
#pragma once

#include <kubecoro/core/result.hpp>
#include <kubecoro/json/value.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace kubecoro::runtime {

inline constexpr std::string_view condition_true = "True";
inline constexpr std::string_view condition_false = "False";
inline constexpr std::string_view condition_unknown = "Unknown";

struct condition {
    std::string type;   // "Ready", CamelCase
    std::string status; // "True", "False" or "Unknown"
    std::string reason; // CamelCase, machine readable
    std::string message;
    long observed_generation = 0;
    std::string last_transition_time; // RFC 3339
    bool operator==(const condition&) const = default;
};

// Adds or updates the condition of c.type. lastTransitionTime becomes c.last_transition_time (or
// `now` when that is empty) for a new condition or a changed status, and stays otherwise.
// Returns whether anything changed (i.e. whether the status needs writing).
bool set_condition(std::vector<condition>& conditions, condition c, std::string now);
// Returns whether a condition of that type was there.
bool remove_condition(std::vector<condition>& conditions, std::string_view type);
// nullptr when absent.
const condition* find_condition(const std::vector<condition>& conditions, std::string_view type);
bool is_true(const std::vector<condition>& conditions, std::string_view type);
bool is_false(const std::vector<condition>& conditions, std::string_view type);

// {"type", "status", "observedGeneration" (when > 0), "lastTransitionTime", "reason", "message"}
json::value to_json(const condition& c);
json::value to_json(const std::vector<condition>& conditions);
// Needs string "type" and "status"; the other fields are optional. json::errc::type otherwise.
core::result<condition> condition_from_json(const json::value& v);
// From status.conditions (an array; null or absent reads as empty).
core::result<std::vector<condition>> conditions_from_json(const json::value& v);

// At most `max` bytes of a condition message (the CRDs cap messages at 32768; an API server error
// can be longer), cut at a UTF-8 character boundary, "..." marking the cut.
std::string clip_message(std::string message, std::size_t max = 1024);

// "2026-11-21T23:20:27Z": whole seconds in UTC, as metav1.Time serialises.
std::string now_rfc3339(std::chrono::system_clock::time_point t);

} // namespace kubecoro::runtime
