// Small readers for asserting on rendered json::value trees.
#pragma once

#include <kubecoro/json/json.hpp>
#include <kubecoro/json/value.hpp>

#include <doctest/doctest.h>

#include <string>
#include <string_view>

namespace test_helpers {

using kubecoro::json::value;

inline value parse(std::string_view text) {
    auto v = kubecoro::json::parse(text);
    REQUIRE_MESSAGE(v.has_value(), text);
    return std::move(v).value();
}

inline std::string str(const value* v) {
    return v && v->is_string() ? *v->if_string() : "<absent>";
}
inline long num(const value* v) {
    return v && v->is_int() ? static_cast<long>(*v->if_int()) : -1;
}

// The element of an array of objects whose `key` is `name` (env vars, containers, ports).
inline const value* by_name(const value* list, std::string_view name, std::string_view key = "name") {
    if (!list || !list->is_array())
        return nullptr;
    for (const value& item : *list->if_array())
        if (const value* n = item.at(key); n && n->is_string() && *n->if_string() == name)
            return &item;
    return nullptr;
}

inline std::size_t size(const value* v) {
    if (!v)
        return 0;
    if (const auto* a = v->if_array())
        return a->size();
    if (const auto* o = v->if_object())
        return o->size();
    return 0;
}

} // namespace test_helpers
