#include <kubecoro/json/json.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

using namespace kubecoro;
using json::value;

namespace {
value parsed(std::string_view text) {
    auto r = json::parse(text);
    REQUIRE_MESSAGE(r, r.error().message);
    return std::move(r).value();
}
} // namespace

TEST_CASE("parse scalars") {
    CHECK(parsed("null").is_null());
    CHECK(parsed("true") == value(true));
    CHECK(parsed(" false ") == value(false));
    CHECK(parsed("-12") == value(-12));
    CHECK(parsed("1.25") == value(1.25));
    CHECK(parsed("1e3") == value(1000.0));
    CHECK(parsed("\"s\"") == value("s"));
}

TEST_CASE("parse nested document into an owned tree") {
    value v = parsed(R"({"a":[1,{"b":null}],"c":{"d":"e"},"f":2.5})");
    REQUIRE(v.is_object());
    const json::array* a = v.at("a")->if_array();
    REQUIRE(a);
    CHECK(a->size() == 2);
    CHECK((*a)[0] == value(1));
    CHECK((*a)[1].at("b")->is_null());
    CHECK(v.at("c", "d")->string_or("") == "e");
    CHECK(*v.at("f") == value(2.5));
    // Key order of the input is kept.
    std::string keys;
    for (const auto& [k, x] : *v.if_object())
        keys += k;
    CHECK(keys == "acf");
}

TEST_CASE("integers: int64 range exact, above it a double") {
    CHECK(parsed("9223372036854775807") == value(std::int64_t{9223372036854775807}));
    CHECK(parsed("-9223372036854775808") == value(INT64_MIN));
    value big = parsed("18446744073709551615");
    REQUIRE(big.if_double());
    CHECK(*big.if_double() == 18446744073709551615.0);
    value above = parsed("9223372036854775808");
    REQUIRE(above.if_double());
    CHECK(*above.if_double() == 9223372036854775808.0);
    // Beyond uint64 simdjson reports a number error: an error value, not a crash.
    CHECK_FALSE(json::parse("123456789012345678901234567890"));
}

TEST_CASE("strings: escapes and unicode are decoded") {
    value v = parsed(R"("a\"b\\c\/d\n\t\u00e9\u4e2d\ud83d\ude00\u0000z")");
    REQUIRE(v.if_string());
    CHECK(*v.if_string() == std::string("a\"b\\c/d\n\t\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\0z", 20));
    CHECK(parsed(R"({"k\u00e9y":1})").at("k\xc3\xa9y"));
}

TEST_CASE("write escapes what JSON requires and nothing else") {
    CHECK(json::write(value(std::string("q\"b\\s/n\nt\tc\x01\0", 13))) == R"("q\"b\\s/n\nt\tc\u0001\u0000")");
    CHECK(json::write(value("\xc3\xa9\xf0\x9f\x98\x80")) == "\"\xc3\xa9\xf0\x9f\x98\x80\"");
}

TEST_CASE("write is compact and keeps member order") {
    value v(json::object{{"z", 1}, {"a", json::array{true, nullptr, "x"}}, {"m", json::object{}}});
    CHECK(json::write(v) == R"({"z":1,"a":[true,null,"x"],"m":{}})");
    CHECK(json::write(value(json::array{})) == "[]");
}

TEST_CASE("write numbers") {
    CHECK(json::write(value(INT64_MIN)) == "-9223372036854775808");
    CHECK(json::write(value(3.0)) == "3.0");
    CHECK(json::write(value(0.5)) == "0.5");
    CHECK(json::write(value(1e15)) == "1000000000000000.0");
    // No NaN or infinity in JSON.
    CHECK(json::write(value(std::numeric_limits<double>::infinity())) == "null");
    CHECK(json::write(value(std::numeric_limits<double>::quiet_NaN())) == "null");
}

TEST_CASE("round trip parse(write(v)) == v") {
    const char* docs[] = {
        R"({"a":[1,-2,3.5,1e-300,1.7976931348623157e308,true,false,null],"b":{"c":"\u00e9\n\"x\""}})",
        R"([18446744073709551615,-9223372036854775808,0.1,-0.0,5e-324])",
        R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"k":"v\u0001"}})",
        R"("just a string")",
        R"([[],{},[[{}]]])",
    };
    for (const char* d : docs) {
        CAPTURE(d);
        value v = parsed(d);
        std::string once = json::write(v);
        CHECK(parsed(once) == v);
        CHECK(json::write(parsed(once)) == once); // deterministic
    }
}

TEST_CASE("malformed input is an error value with a message") {
    const char* bad[] = {
        "",
        "   ",
        "{",
        "[1,2",
        R"({"a":)",
        R"({"a" 1})",
        R"({"a":1,})",
        "[1,]",
        R"("abc)",
        "tru",
        "nul",
        "01",
        "1.",
        "-",
        R"({"a":1}x)",
        "\xff",
        R"("\ud800")",
        R"("\x")",
        "{\"a\":\"\x01\"}",
        "{1:2}",
        "NaN",
    };
    for (const char* b : bad) {
        CAPTURE(b);
        auto r = json::parse(b);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == json::errc::syntax);
        CHECK(r.error().message.rfind("json: ", 0) == 0);
    }
}

TEST_CASE("every prefix of a document is handled") {
    const std::string doc = R"({"type":"ADDED","object":{"a":[1,2.5,"x\u00e9",{"b":null}],"c":true}})";
    for (std::size_t n = 0; n < doc.size(); ++n)
        CHECK_FALSE(json::parse(std::string_view(doc).substr(0, n)));
    CHECK(json::parse(doc));
}

TEST_CASE("nesting limit") {
    auto nested = [](std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
    CHECK(json::parse(nested(128)));
    auto r = json::parse(nested(129));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == json::errc::too_deep);
    std::string objects;
    for (int i = 0; i < 129; ++i)
        objects += R"({"a":)";
    objects += "1" + std::string(129, '}');
    CHECK(json::parse(objects).error().code == json::errc::too_deep);
    // Far beyond simdjson's own limit: still too_deep, not a crash.
    CHECK(json::parse(nested(5000)).error().code == json::errc::too_deep);
}

TEST_CASE("json error category") {
    std::error_code ec = json::errc::too_deep;
    CHECK(ec.category().name() == std::string("kubecoro.json"));
    CHECK(ec.message() == "JSON nested too deeply");
    CHECK(ec != std::error_code(json::errc::syntax));
}
