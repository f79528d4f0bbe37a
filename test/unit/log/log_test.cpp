#include <kubecoro/log/log.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

using namespace kubecoro;
using namespace std::chrono_literals;

namespace {

// 2026-11-21T23:20:27.123Z
std::chrono::system_clock::time_point fixed_time() {
    using namespace std::chrono;
    return sys_days{year{2026} / 11 / 21} + 23h + 20min + 27s + 123ms;
}

struct capture {
    std::vector<std::string> lines;

    log::logger make(log::format fmt, log::level min = log::level::debug) {
        return log::logger(
            log::logger_config{min, fmt, [this](std::string_view l) { lines.emplace_back(l); }, fixed_time});
    }
};

} // namespace

TEST_CASE("json format: fixed keys first, then fields, one line") {
    capture c;
    auto lg = c.make(log::format::json).named("controller");
    lg.info("reconciled", {{"key", "default/db"}, {"attempt", 3}, {"ratio", 0.5}, {"ok", true}});
    REQUIRE(c.lines.size() == 1);
    CHECK(c.lines[0] ==
          "{\"ts\":\"2026-11-21T23:20:27.123Z\",\"level\":\"info\",\"logger\":\"controller\","
          "\"msg\":\"reconciled\",\"key\":\"default/db\",\"attempt\":3,\"ratio\":0.5,\"ok\":true}\n");
}

TEST_CASE("json format: numbers of every kind") {
    capture c;
    auto lg = c.make(log::format::json);
    lg.warn("n",
            {{"neg", -7},
             {"big", std::uint64_t{18446744073709551615u}},
             {"whole", 2.0},
             {"nan", std::nan("")},
             {"d", 1500ms}});
    CHECK(c.lines.at(0) == "{\"ts\":\"2026-11-21T23:20:27.123Z\",\"level\":\"warn\",\"msg\":\"n\",\"neg\":-7,"
                           "\"big\":18446744073709551615,\"whole\":2,\"nan\":\"NaN\",\"d\":1.5}\n");
}

TEST_CASE("json escaping: quotes, backslashes, newlines, control characters, UTF-8") {
    capture c;
    auto lg = c.make(log::format::json);
    lg.error("say \"hi\"\\\n\t\x01\x1f end", {{"k\"ey", "caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x9A\x80"}});
    CHECK(c.lines.at(0) == "{\"ts\":\"2026-11-21T23:20:27.123Z\",\"level\":\"error\","
                           "\"msg\":\"say \\\"hi\\\"\\\\\\n\\t\\u0001\\u001f end\","
                           "\"k\\\"ey\":\"caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x9A\x80\"}\n");
}

TEST_CASE("json escaping: invalid UTF-8 becomes U+FFFD") {
    capture c;
    auto lg = c.make(log::format::json);
    // a lone continuation byte, a truncated sequence, an overlong '/', a surrogate
    lg.info("a\x80"
            "b\xE2\x9C"
            "c\xC0\xAF"
            "d\xED\xA0\x80");
    CHECK(c.lines.at(0) == "{\"ts\":\"2026-11-21T23:20:27.123Z\",\"level\":\"info\","
                           "\"msg\":\"a\\ufffdb\\ufffd\\ufffdc\\ufffd\\ufffdd\\ufffd\\ufffd\\ufffd\"}\n");
}

TEST_CASE("text format: readable, quoted only when needed, one line") {
    capture c;
    auto lg = c.make(log::format::text).named("manager").named("leader");
    lg.info("acquired\nlease", {{"name", "kubecoro"}, {"holder", "pod a"}, {"empty", ""}, {"n", 2}});
    lg.debug("q", {{"v", "say \"x\""}});
    REQUIRE(c.lines.size() == 2);
    CHECK(c.lines[0] == "2026-11-21T23:20:27.123Z INFO  manager.leader: acquired\\nlease name=kubecoro "
                        "holder=\"pod a\" empty=\"\" n=2\n");
    CHECK(c.lines[1] == "2026-11-21T23:20:27.123Z DEBUG manager.leader: q v=\"say \\\"x\\\"\"\n");
}

TEST_CASE("level filtering, shared with children") {
    capture c;
    auto root = c.make(log::format::json, log::level::warn);
    auto child = root.named("x");
    child.debug("d");
    child.info("i");
    child.warn("w");
    child.error("e");
    CHECK(c.lines.size() == 2);
    CHECK_FALSE(child.enabled(log::level::info));
    root.set_level(log::level::debug);
    CHECK(child.enabled(log::level::debug));
    child.debug("d2");
    CHECK(c.lines.size() == 3);
    CHECK(c.lines.back().find("\"level\":\"debug\"") != std::string::npos);
}

TEST_CASE("with() adds fields to every line") {
    capture c;
    auto lg = c.make(log::format::json).with({{"controller", "database"}, {"token", "abc"}});
    lg.info("a", {{"k", 1}});
    CHECK(c.lines.at(0) == "{\"ts\":\"2026-11-21T23:20:27.123Z\",\"level\":\"info\",\"msg\":\"a\","
                           "\"controller\":\"database\",\"token\":\"[redacted]\",\"k\":1}\n");
}

TEST_CASE("redaction of sensitive keys and bearer tokens") {
    capture c;
    auto lg = c.make(log::format::json);
    lg.info("sent Authorization: Bearer eyJhbGciOi.J9x-_/+=",
            {{"password", "hunter2"},
             {"client-key-data", "LS0t"},
             {"Secret", 42},
             {"header", "bearer abc.def, next"},
             {"key", "default/db"}});
    CHECK(c.lines.at(0) == "{\"ts\":\"2026-11-21T23:20:27.123Z\",\"level\":\"info\","
                           "\"msg\":\"sent Authorization: Bearer [redacted]\",\"password\":\"[redacted]\","
                           "\"client-key-data\":\"[redacted]\",\"Secret\":\"[redacted]\","
                           "\"header\":\"bearer [redacted], next\",\"key\":\"default/db\"}\n");
    capture t;
    t.make(log::format::text).info("x", {{"bearerToken", "abc"}});
    CHECK(t.lines.at(0) == "2026-11-21T23:20:27.123Z INFO  x bearerToken=[redacted]\n");
}

TEST_CASE("redact() and is_sensitive_key()") {
    CHECK(log::redact("Bearer abc") == "Bearer [redacted]");
    CHECK(log::redact("x BEARER  a1 and Bearer b2") == "x BEARER [redacted] and Bearer [redacted]");
    CHECK(log::redact("the bearers said Bearer") == "the bearers said Bearer");
    CHECK(log::redact("Bearer: none") == "Bearer: none");
    CHECK(log::redact("nobearer abc") == "nobearer abc");
    CHECK(log::redact("") == "");
    CHECK(log::is_sensitive_key("password"));
    CHECK(log::is_sensitive_key("db_PASSWORD"));
    CHECK(log::is_sensitive_key("client-key-data"));
    CHECK(log::is_sensitive_key("authorization"));
    CHECK(log::is_sensitive_key("api_key"));
    CHECK_FALSE(log::is_sensitive_key("key"));
    CHECK_FALSE(log::is_sensitive_key("namespace"));
    CHECK_FALSE(log::is_sensitive_key("monkey"));
}

TEST_CASE("parse_level and parse_format") {
    CHECK(*log::parse_level("debug") == log::level::debug);
    CHECK(*log::parse_level("INFO") == log::level::info);
    CHECK(*log::parse_level("warning") == log::level::warn);
    CHECK(*log::parse_level("Warn") == log::level::warn);
    CHECK(*log::parse_level("error") == log::level::error);
    auto bad = log::parse_level("verbose");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("verbose") != std::string::npos);
    CHECK(log::to_string(log::level::warn) == "warn");
    CHECK(*log::parse_format("text") == log::format::text);
    CHECK(*log::parse_format("JSON") == log::format::json);
    CHECK_FALSE(log::parse_format("yaml"));
}

TEST_CASE("timestamps before the epoch second boundary and at midnight") {
    using namespace std::chrono;
    capture c;
    auto lg = log::logger(
        log::logger_config{log::level::info,
                           log::format::json,
                           [&](std::string_view l) { c.lines.emplace_back(l); },
                           [] { return system_clock::time_point(sys_days{year{2000} / 1 / 1}); }});
    lg.info("m");
    CHECK(c.lines.at(0).starts_with("{\"ts\":\"2000-01-01T00:00:00.000Z\""));
}
