#include <kubecoro/json/value.hpp>

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace kubecoro::json {

object::object(std::initializer_list<member> members)
    : object(std::vector<member>(members)) {}

object::object(std::vector<member> members)
    : members_(std::move(members)) {
    // Keys stay unique so that lookups, equality and writing agree. A duplicate keeps the first
    // one's position and the last one's value (Go's encoding/json also lets the last one win).
    const std::size_t n = members_.size();
    constexpr std::size_t linear_limit = 16;
    if (n < 2)
        return;
    if (n <= linear_limit) {
        bool duplicates = false;
        for (std::size_t i = 0; i < n && !duplicates; ++i)
            for (std::size_t j = i + 1; j < n && !duplicates; ++j)
                duplicates = members_[i].first == members_[j].first;
        if (!duplicates)
            return;
    }
    std::vector<std::size_t> value_from(n); // for a first occurrence: index of the last one
    std::vector<bool> is_first(n);
    std::size_t unique_count = 0;
    {
        // Views into members_: done with before any key is moved.
        std::unordered_map<std::string_view, std::size_t> first;
        first.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            auto [it, inserted] = first.try_emplace(members_[i].first, i);
            is_first[i] = inserted;
            value_from[it->second] = i;
        }
        unique_count = first.size();
    }
    if (unique_count == n)
        return;
    std::vector<member> unique;
    unique.reserve(unique_count);
    for (std::size_t i = 0; i < n; ++i)
        if (is_first[i])
            unique.emplace_back(std::move(members_[i].first), std::move(members_[value_from[i]].second));
    members_ = std::move(unique);
}

const value* object::find(std::string_view key) const {
    for (const auto& m : members_)
        if (m.first == key)
            return &m.second;
    return nullptr;
}

value* object::find(std::string_view key) {
    for (auto& m : members_)
        if (m.first == key)
            return &m.second;
    return nullptr;
}

value& object::operator[](std::string_view key) {
    if (value* v = find(key))
        return *v;
    return members_.emplace_back(std::string(key), value()).second;
}

void object::set(std::string key, value v) {
    if (value* existing = find(key))
        *existing = std::move(v);
    else
        members_.emplace_back(std::move(key), std::move(v));
}

bool object::erase(std::string_view key) {
    auto it = std::find_if(members_.begin(), members_.end(), [&](const member& m) { return m.first == key; });
    if (it == members_.end())
        return false;
    members_.erase(it);
    return true;
}

// JSON objects are unordered: equal members in any order are equal. Keys are unique, so
// comparing sizes and looking up each member is enough; the same order is the fast path.
bool object::operator==(const object& o) const {
    if (members_.size() != o.members_.size())
        return false;
    for (std::size_t i = 0; i < members_.size(); ++i) {
        const member& m = members_[i];
        const value* other = o.members_[i].first == m.first ? &o.members_[i].second : o.find(m.first);
        if (!other || !(*other == m.second))
            return false;
    }
    return true;
}

std::string value::string_or(std::string_view fallback) const {
    if (const std::string* s = if_string())
        return *s;
    return std::string(fallback);
}

std::int64_t value::int_or(std::int64_t fallback) const {
    if (const std::int64_t* i = if_int())
        return *i;
    // A whole double in range (e.g. 3.0 from a client that writes floats) reads as an integer.
    if (const double* d = if_double()) {
        constexpr double lo = -9223372036854775808.0; // -2^63, exact
        constexpr double hi = 9223372036854775808.0;  // 2^63, exact, out of range
        if (*d >= lo && *d < hi && std::trunc(*d) == *d)
            return static_cast<std::int64_t>(*d);
    }
    return fallback;
}

bool value::bool_or(bool fallback) const {
    if (const bool* b = if_bool())
        return *b;
    return fallback;
}

} // namespace kubecoro::json
