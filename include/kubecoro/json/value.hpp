// An owned JSON tree: what the json module decodes into and what controllers build apply
// configurations from. Objects keep their key order (apply bodies read like the YAML they mirror).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace kubecoro::json {

class value;
using array = std::vector<value>;
using member = std::pair<std::string, value>;

class object {
public:
    object() = default;
    object(std::initializer_list<member> members);
    // Duplicate keys keep the first one's position and the last one's value.
    explicit object(std::vector<member> members);

    // nullptr when absent.
    const value* find(std::string_view key) const;
    value* find(std::string_view key);
    // Inserts null when absent.
    value& operator[](std::string_view key);
    void set(std::string key, value v); // replaces or appends
    bool erase(std::string_view key);

    auto begin() const { return members_.begin(); }
    auto end() const { return members_.end(); }
    auto begin() { return members_.begin(); }
    auto end() { return members_.end(); }
    // Defined below value: clang instantiates these constexpr vector members at once and
    // needs the complete member type.
    std::size_t size() const;
    bool empty() const;
    bool operator==(const object& o) const;

private:
    std::vector<member> members_;
};

class value {
public:
    using storage = std::variant<std::nullptr_t, bool, std::int64_t, double, std::string, array, object>;

    value()
        : v_(nullptr) {}
    value(std::nullptr_t)
        : v_(nullptr) {}
    value(bool b)
        : v_(b) {}
    value(int i)
        : v_(static_cast<std::int64_t>(i)) {}
    value(long i)
        : v_(static_cast<std::int64_t>(i)) {}
    value(long long i)
        : v_(static_cast<std::int64_t>(i)) {}
    value(unsigned i)
        : v_(static_cast<std::int64_t>(i)) {}
    value(double d)
        : v_(d) {}
    value(const char* s)
        : v_(std::string(s)) {}
    value(std::string s)
        : v_(std::move(s)) {}
    value(std::string_view s)
        : v_(std::string(s)) {}
    value(array a)
        : v_(std::move(a)) {}
    value(object o)
        : v_(std::move(o)) {}

    bool is_null() const { return std::holds_alternative<std::nullptr_t>(v_); }
    bool is_bool() const { return std::holds_alternative<bool>(v_); }
    bool is_int() const { return std::holds_alternative<std::int64_t>(v_); }
    bool is_number() const { return is_int() || std::holds_alternative<double>(v_); }
    bool is_string() const { return std::holds_alternative<std::string>(v_); }
    bool is_array() const { return std::holds_alternative<array>(v_); }
    bool is_object() const { return std::holds_alternative<object>(v_); }

    // Typed reads; nullptr when the value has another type.
    const bool* if_bool() const { return std::get_if<bool>(&v_); }
    const std::int64_t* if_int() const { return std::get_if<std::int64_t>(&v_); }
    const double* if_double() const { return std::get_if<double>(&v_); }
    const std::string* if_string() const { return std::get_if<std::string>(&v_); }
    const array* if_array() const { return std::get_if<array>(&v_); }
    const object* if_object() const { return std::get_if<object>(&v_); }
    std::string* if_string() { return std::get_if<std::string>(&v_); }
    array* if_array() { return std::get_if<array>(&v_); }
    object* if_object() { return std::get_if<object>(&v_); }

    // Path lookup through objects: v.at("spec", "backup", "schedule"); nullptr when any step is missing.
    template <class... Keys>
    const value* at(std::string_view first, Keys... rest) const {
        const object* o = if_object();
        if (!o)
            return nullptr;
        const value* v = o->find(first);
        if constexpr (sizeof...(rest) == 0)
            return v;
        else
            return v ? v->at(rest...) : nullptr;
    }
    // Convenience reads with a fallback.
    std::string string_or(std::string_view fallback) const;
    std::int64_t int_or(std::int64_t fallback) const;
    bool bool_or(bool fallback) const;

    const storage& raw() const { return v_; }
    bool operator==(const value& o) const { return v_ == o.v_; }

private:
    storage v_;
};

inline std::size_t object::size() const {
    return members_.size();
}
inline bool object::empty() const {
    return members_.empty();
}

} // namespace kubecoro::json
