#include <kubecoro/json/value.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace kubecoro::json;

TEST_CASE("object keeps insertion order and unique keys") {
    object o{{"b", 1}, {"a", 2}};
    o.set("c", 3);
    o.set("b", 4); // replaces in place
    std::string keys;
    for (const auto& [k, v] : o)
        keys += k;
    CHECK(keys == "bac");
    CHECK(o.size() == 3);
    REQUIRE(o.find("b"));
    CHECK(*o.find("b") == value(4));
    CHECK(o.find("z") == nullptr);
}

TEST_CASE("object operator[] inserts null when absent") {
    object o;
    CHECK(o["x"].is_null());
    CHECK(o.size() == 1);
    o["x"] = value("y");
    o["x"] = value("z");
    CHECK(o.size() == 1);
    CHECK(o.find("x")->string_or("") == "z");
}

TEST_CASE("object erase") {
    object o{{"a", 1}, {"b", 2}, {"c", 3}};
    CHECK(o.erase("b"));
    CHECK_FALSE(o.erase("b"));
    CHECK(o.size() == 2);
    CHECK(o == object{{"a", 1}, {"c", 3}});
}

TEST_CASE("duplicate keys: first position, last value") {
    object small{{"a", 1}, {"b", 2}, {"a", 3}};
    CHECK(small.size() == 2);
    CHECK(small.begin()->first == "a");
    CHECK(*small.find("a") == value(3));

    // Above the linear-scan size the hash path must agree.
    std::vector<member> many;
    for (int i = 0; i < 40; ++i) {
        std::string key = std::to_string(i % 20); // not "k" + ...: g++ 12 -Wrestrict false positive
        many.emplace_back(key.insert(0, 1, 'k'), value(i));
    }
    object large(std::move(many));
    CHECK(large.size() == 20);
    CHECK(large.begin()->first == "k0");
    CHECK(*large.find("k0") == value(20));
    CHECK(*large.find("k19") == value(39));
}

TEST_CASE("object equality ignores member order") {
    object a{{"x", 1}, {"y", "s"}};
    object b{{"y", "s"}, {"x", 1}};
    CHECK(a == b);
    CHECK(value(a) == value(b));
    b.set("x", 2);
    CHECK_FALSE(a == b);
    CHECK_FALSE(a == object{{"x", 1}});
    CHECK_FALSE(a == object{{"x", 1}, {"z", "s"}});
}

TEST_CASE("value types and typed reads") {
    CHECK(value().is_null());
    CHECK(value(true).is_bool());
    CHECK(value(7).is_int());
    CHECK(value(7.5).is_number());
    CHECK_FALSE(value(7.5).is_int());
    CHECK(value("s").is_string());
    CHECK(value(array{1, 2}).is_array());
    CHECK(value(object{}).is_object());
    CHECK(value(7) != value(7.0)); // int and double are different alternatives
    CHECK(value("7").if_int() == nullptr);
}

TEST_CASE("fallback reads") {
    CHECK(value("abc").string_or("d") == "abc");
    CHECK(value(1).string_or("d") == "d");
    CHECK(value(42).int_or(-1) == 42);
    CHECK(value(3.0).int_or(-1) == 3);
    CHECK(value(3.5).int_or(-1) == -1);
    CHECK(value(1e19).int_or(-1) == -1);
    CHECK(value(-9223372036854775808.0).int_or(-1) == INT64_MIN);
    CHECK(value("42").int_or(-1) == -1);
    CHECK(value(true).bool_or(false));
    CHECK_FALSE(value(1).bool_or(false));
}

TEST_CASE("path lookup") {
    value v(object{{"spec", object{{"backup", object{{"schedule", "@daily"}}}}}});
    REQUIRE(v.at("spec", "backup", "schedule"));
    CHECK(v.at("spec", "backup", "schedule")->string_or("") == "@daily");
    CHECK(v.at("spec", "missing", "schedule") == nullptr);
    CHECK(v.at("spec", "backup", "schedule", "deeper") == nullptr);
    CHECK(value(1).at("spec") == nullptr);
}
