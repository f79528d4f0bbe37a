#include <kubecoro/core/errc.hpp>
#include <kubecoro/http/line_splitter.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

using namespace kubecoro;

namespace {

struct outcome {
    std::vector<std::string> lines;
    std::optional<std::error_code> error;
    std::size_t pending = 0;
    bool operator==(const outcome&) const = default;
};

outcome drive(const std::vector<std::string_view>& pieces, std::size_t max_line) {
    http::line_splitter s(max_line);
    outcome out;
    for (auto piece : pieces) {
        auto r = s.feed(piece, [&](std::string_view line) { out.lines.emplace_back(line); });
        if (!r) {
            out.error = r.error().code;
            break;
        }
    }
    out.pending = s.pending();
    return out;
}

// Whole, split in two at every offset, and byte by byte: the same lines and the same error.
outcome split(std::string_view input, std::size_t max_line = 1024) {
    auto whole = drive({input}, max_line);
    for (std::size_t i = 0; i <= input.size(); ++i) {
        CAPTURE(i);
        CHECK(drive({input.substr(0, i), input.substr(i)}, max_line) == whole);
    }
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < input.size(); ++i)
        bytes.push_back(input.substr(i, 1));
    CHECK(drive(bytes, max_line) == whole);
    return whole;
}

using lines = std::vector<std::string>;

} // namespace

TEST_CASE("lines across feeds") {
    auto out = split("{\"type\":\"ADDED\"}\n{\"type\":\"MODIFIED\"}\npartial");
    CHECK(out.lines == lines{"{\"type\":\"ADDED\"}", "{\"type\":\"MODIFIED\"}"});
    CHECK(out.pending == 7);
    CHECK_FALSE(out.error);
}

TEST_CASE("CRLF, lone CR and empty lines") {
    auto out = split("a\r\n\r\n\nb\n\r\nc\rd\n");
    CHECK(out.lines == lines{"a", "b", "c\rd"});
    CHECK(out.pending == 0);
}

TEST_CASE("line_too_long") {
    // The limit is on the line without its terminator.
    CHECK(split("12345\n", 5).lines == lines{"12345"});
    CHECK(split("12345\r\n", 5).lines == lines{"12345"});
    CHECK(split("12345\r", 5).pending == 6);

    auto over = split("ok\n123456\nnext\n", 5);
    CHECK(over.lines == lines{"ok"});
    REQUIRE(over.error);
    CHECK(*over.error == http::errc::line_too_long);
    CHECK(over.pending == 0);

    auto over_cr = split("123456\r\n", 5);
    REQUIRE(over_cr.error);
    CHECK(*over_cr.error == http::errc::line_too_long);

    // An unterminated line fails as soon as it cannot fit.
    http::line_splitter s(5);
    CHECK(s.feed("12345", [](std::string_view) {}));
    CHECK(s.feed("\r", [](std::string_view) {}));
    auto r = s.feed("x", [](std::string_view) {});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == http::errc::line_too_long);
}

TEST_CASE("a failing callback stops the feed") {
    http::line_splitter s;
    std::vector<std::string> seen;
    auto r = s.feed("a\nstop\nc\n", [&](std::string_view line) -> core::result<void> {
        seen.emplace_back(line);
        if (line == "stop")
            return core::fail(core::errc::invalid_argument, "bad event");
        return {};
    });
    REQUIRE_FALSE(r);
    CHECK(r.error().code == core::errc::invalid_argument);
    CHECK(seen == lines{"a", "stop"});
}

TEST_CASE("clear drops the pending line") {
    http::line_splitter s;
    std::vector<std::string> seen;
    auto on_line = [&](std::string_view line) { seen.emplace_back(line); };
    CHECK(s.feed("half", on_line));
    CHECK(s.pending() == 4);
    s.clear();
    CHECK(s.feed("whole\n", on_line));
    CHECK(seen == lines{"whole"});
}
