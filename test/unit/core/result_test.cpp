#include <kubecoro/core/errc.hpp>
#include <kubecoro/core/result.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace kubecoro;

TEST_CASE("result holds a value or an error") {
    core::result<std::string> ok = std::string("x");
    CHECK(ok.has_value());
    CHECK(*ok == "x");
    core::result<std::string> bad = core::fail(core::errc::timeout, "deadline passed");
    CHECK_FALSE(bad);
    CHECK(bad.error().code == core::errc::timeout);
    CHECK(bad.error().message == "deadline passed");
    CHECK(bad.error().code.message() == "timed out");
}

TEST_CASE("result<void>") {
    core::result<void> ok;
    CHECK(ok);
    core::result<void> bad = core::fail(core::errc::io, "disk");
    CHECK_FALSE(bad);
    CHECK(bad.error().code.category().name() == std::string("kubecoro.core"));
}
