#include "common/meta.hpp"
#include "database/password.hpp"
#include "helpers.hpp"
#include <kubecoro/runtime/conditions.hpp>

#include <doctest/doctest.h>

#include <set>
#include <string>

using namespace kubecoro;
using namespace kubecoro::controllers;
using test_helpers::parse;
using test_helpers::str;

TEST_CASE("generate_password: 32 URL-safe characters, different every time") {
    auto a = database::generate_password();
    auto b = database::generate_password();
    REQUIRE(a.has_value());
    REQUIRE(b.has_value());
    CHECK(a->size() == 32);
    CHECK(b->size() == 32);
    CHECK(*a != *b);
    std::set<char> seen;
    for (int i = 0; i < 64; ++i) {
        auto p = database::generate_password();
        REQUIRE(p.has_value());
        for (char c : *p) {
            CHECK(database::password_alphabet.find(c) != std::string_view::npos);
            seen.insert(c);
        }
    }
    // 2048 draws from 64 symbols: every symbol shows up unless the mapping is broken.
    CHECK(seen.size() == 64);
}

TEST_CASE("clip_message cuts long messages at a character boundary") {
    CHECK(clip_message("short", 10) == "short");
    CHECK(clip_message("0123456789abc", 10) == "0123456...");
    // "é" is two bytes: the cut backs off rather than splitting it.
    CHECK(clip_message("012345\xc3\xa9"
                       "789",
                       10) == "012345...");
    CHECK(clip_message(std::string(40000, 'x')).size() == 1024);
}

TEST_CASE("leading_integer and selector_string") {
    CHECK(leading_integer("16") == 16);
    CHECK(leading_integer("17.2-alpine") == 17);
    CHECK_FALSE(leading_integer("latest").has_value());
    CHECK_FALSE(leading_integer("").has_value());
    CHECK(selector_string({}) == "");
    CHECK(selector_string({{"b", "2"}, {"a", "1"}}) == "a=1,b=2");
}
