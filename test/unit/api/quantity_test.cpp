#include <kubecoro/api/quantity.hpp>
#include <kubecoro/core/errc.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace kubecoro;

namespace {
api::quantity q(std::string_view s) {
    auto r = api::parse_quantity(s);
    INFO(s);
    REQUIRE(r);
    return *r;
}
bool rejects(std::string_view s, api::sign_policy sign = api::sign_policy::allow_negative) {
    auto r = api::parse_quantity(s, sign);
    return !r && r.error().code == core::errc::invalid_argument;
}
constexpr __int128 giga = 1'000'000'000;
} // namespace

TEST_CASE("quantities compare exactly") {
    CHECK(q("1Gi") > q("1000Mi"));
    CHECK(q("1Gi") == q("1024Mi"));
    CHECK(q("1G") < q("1Gi"));
    CHECK(q("10Gi") > q("9.99Gi"));
    CHECK(q("1.5G") == q("1500M"));
    CHECK(q("100m") == q("0.1"));
    CHECK(q("1Ki") == q("1024"));
    CHECK(q("0.5Ki") == q("512"));
    CHECK(q("1.5Ki") == q("1536"));
    CHECK(q("1e3") == q("1k"));
    CHECK(q("1E3") == q("1000"));
    CHECK(q("1E") == q("1e18"));
    CHECK(q("8Ei") > q("9E"));
    CHECK(q("2") != q("2.000000001"));
    CHECK(q("-1") < q("0"));
    CHECK(q("500Mi") < q("1Gi"));
}

TEST_CASE("quantity values") {
    CHECK(q("2").nano == 2 * giga);
    CHECK(q("1n").nano == 1);
    CHECK(q("1u").nano == 1000);
    CHECK(q("1Ei").nano == (__int128{1} << 60) * giga);
    CHECK(q("1e29").nano == q("100000000000000000000000000000").nano);
    CHECK(q("+5") == q("5"));
    CHECK(q(".5") == q("500m"));
    CHECK(q("5.") == q("5"));
    CHECK(q("-0").nano == 0);
    CHECK(q("0e999999999999").nano == 0);
    CHECK(q("0000000000000000000000000000000000000000000001k") == q("1000"));
    CHECK(q("1.000000000000000000000000000000000000000000000000").nano == giga);

    CHECK(q("100m").milli_value() == 100);
    CHECK(q("100m").value() == 1); // rounded up, as Quantity.Value() does
    CHECK(q("-1.5").value() == -2);
    CHECK(q("10Gi").value() == 10737418240);
    CHECK(q("1Ei").milli_value() == INT64_MAX);
}

TEST_CASE("precision finer than a nano-unit rounds up") {
    CHECK(q("0.1n").nano == 1);
    CHECK(q("1.5n").nano == 2);
    CHECK(q("1e-12").nano == 1);
    CHECK(q("1e-999999999").nano == 1);
    CHECK(q("-0.1n").nano == -1);
    CHECK(q("0.000000000000000000000000000000000000000000000001").nano == 1);
}

TEST_CASE("malformed quantities") {
    for (std::string_view s :
         {"",     ".",      "+",   "-",    "+-1", "--1", "1.2.3", "1 Gi", " 1",
          "1 ",   "1gi",    "1K",  "1KI",  "1e",  "1e+", "1e1.5", "Gi",   "0x10",
          "1ee3", "1.5.Gi", "1iB", "1Gii", "1mi", "e3",  "1e3Gi", "1,5",  "\xe2\x88\x9e"}) {
        CAPTURE(s);
        CHECK(rejects(s));
    }
}

TEST_CASE("quantities out of range") {
    CHECK(rejects("1e30"));
    CHECK(rejects("1e999999999999"));
    CHECK(rejects("1" + std::string(40, '0')));
    CHECK(rejects("1000000000000Ei"));
    CHECK_FALSE(rejects("100000000000Ei"));
}

TEST_CASE("negative quantities") {
    CHECK(q("-1Gi") < q("0"));
    CHECK(rejects("-1Gi", api::sign_policy::non_negative));
    CHECK(rejects("-1n", api::sign_policy::non_negative));
    CHECK_FALSE(rejects("-0", api::sign_policy::non_negative));
    CHECK_FALSE(rejects("1Gi", api::sign_policy::non_negative));
    auto r = api::parse_quantity("-5Gi", api::sign_policy::non_negative);
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "invalid quantity \"-5Gi\": must not be negative");
}

TEST_CASE("quantity error messages name the input") {
    auto r = api::parse_quantity("10Gb");
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "invalid quantity \"10Gb\": unknown suffix");
    auto long_input = api::parse_quantity(std::string(100, '1') + "x");
    REQUIRE_FALSE(long_input);
    CHECK(long_input.error().message.size() < 120);
}
