#include <kubecoro/http/response_parser.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

using namespace kubecoro;
using http::body_framing;
using http::errc;

namespace {

struct message {
    int status = 0;
    std::string reason;
    std::vector<http::field> fields;
    std::string body;
    body_framing framing = body_framing::none;
    bool keep_alive = false;
    bool operator==(const message&) const = default;
};

struct outcome {
    std::vector<message> messages;
    std::optional<std::error_code> error;
    std::size_t unused = 0;  // bytes left after a response that closes the connection
    bool incomplete = false; // input ended inside a message without an EOF
    bool operator==(const outcome&) const = default;
};

enum class at_end { eof, keep_open };

struct options {
    bool head_request = false;
    at_end end = at_end::eof;
    http::parser_limits limits = {};
};

message record(http::response_parser& p, std::string body) {
    return {p.head().status, p.head().reason, p.head().fields, std::move(body), p.framing(), p.keep_alive()};
}

// Drives one connection: feeds the pieces in order, takes the body after every feed, and moves on
// to the next response while the connection stays reusable.
outcome drive(const std::vector<std::string_view>& pieces, const options& o) {
    http::response_parser p(o.limits);
    p.reset(o.head_request);
    outcome out;
    std::string body;
    bool started = false;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        auto in = pieces[i];
        while (!in.empty()) {
            if (!out.messages.empty() && !out.messages.back().keep_alive) {
                for (std::size_t j = i; j < pieces.size(); ++j)
                    out.unused += j == i ? in.size() : pieces[j].size();
                return out;
            }
            auto n = p.feed(in);
            if (!n) {
                out.error = n.error().code;
                return out;
            }
            REQUIRE(*n <= in.size());
            started = started || *n > 0;
            body += p.take_body();
            in.remove_prefix(*n);
            if (p.done()) {
                out.messages.push_back(record(p, std::exchange(body, {})));
                p.reset(o.head_request);
                started = false;
            } else {
                REQUIRE(in.empty()); // fewer bytes only when the message is done
            }
        }
    }
    if (!started)
        return out;
    if (o.end == at_end::keep_open) {
        out.incomplete = true;
        return out;
    }
    auto r = p.finish_eof();
    if (!r) {
        out.error = r.error().code;
        return out;
    }
    body += p.take_body();
    out.messages.push_back(record(p, std::move(body)));
    return out;
}

// Parses `input` whole, split in two at every offset, and one byte at a time: all must agree.
outcome parse(std::string_view input, const options& o = {}) {
    auto whole = drive({input}, o);
    for (std::size_t i = 0; i <= input.size(); ++i) {
        CAPTURE(i);
        CHECK(drive({input.substr(0, i), input.substr(i)}, o) == whole);
    }
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < input.size(); ++i)
        bytes.push_back(input.substr(i, 1));
    CHECK(drive(bytes, o) == whole);
    return whole;
}

std::error_code parse_error(std::string_view input, const options& o = {}) {
    auto out = parse(input, o);
    REQUIRE(out.error.has_value());
    return *out.error;
}

} // namespace

TEST_CASE("Content-Length body") {
    auto out = parse("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 5\r\n\r\nhello");
    REQUIRE(out.messages.size() == 1);
    auto& m = out.messages[0];
    CHECK(m.status == 200);
    CHECK(m.reason == "OK");
    CHECK(m.body == "hello");
    CHECK(m.framing == body_framing::content_length);
    CHECK(m.keep_alive);
    CHECK(m.fields == std::vector<http::field>{{"Content-Type", "text/plain"}, {"content-length", "5"}});
    CHECK_FALSE(out.error);
}

TEST_CASE("head accessors and field lookup") {
    http::response_parser p;
    std::string_view in = "HTTP/1.1 404 Not Found\r\nX-A:  padded value \t\r\nContent-Length: 0\r\n\r\n";
    auto n = p.feed(in.substr(0, 20));
    REQUIRE(n);
    CHECK_FALSE(p.head_done());
    n = p.feed(in.substr(20));
    REQUIRE(n);
    CHECK(*n == in.size() - 20);
    CHECK(p.head_done());
    CHECK(p.done());
    CHECK(p.head().status == 404);
    CHECK(p.head().reason == "Not Found");
    CHECK(p.head().find("x-a") == "padded value");
    CHECK_FALSE(p.head().find("x-b"));
    CHECK(p.take_body().empty());
    CHECK(p.framing() == body_framing::content_length);
}

TEST_CASE("status line without a reason phrase") {
    auto a = parse("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n");
    auto b = parse("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n");
    REQUIRE(a.messages.size() == 1);
    REQUIRE(b.messages.size() == 1);
    CHECK(a.messages[0].status == 200);
    CHECK(a.messages[0].reason.empty());
    CHECK(b.messages[0].reason.empty());
}

TEST_CASE("chunked body with extensions and trailers") {
    auto out = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5;name=value\r\nhello\r\n"
                     "6 ; ext\r\n world\r\n"
                     "A\r\n0123456789\r\n"
                     "0\r\nX-Trailer: a\r\nX-Other: b\r\n\r\n");
    REQUIRE(out.messages.size() == 1);
    CHECK(out.messages[0].body == "hello world0123456789");
    CHECK(out.messages[0].framing == body_framing::chunked);
    CHECK(out.messages[0].keep_alive);
    // Trailers are not merged into the head.
    CHECK(out.messages[0].fields.size() == 1);
}

TEST_CASE("chunked body without trailers, and a chunked watch stream kept open") {
    auto out = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    REQUIRE(out.messages.size() == 1);
    CHECK(out.messages[0].body == "abc");

    options open{.end = at_end::keep_open};
    auto stream = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{}\r\n\r\n", open);
    CHECK(stream.messages.empty());
    CHECK(stream.incomplete);
    CHECK_FALSE(stream.error);
}

TEST_CASE("transfer codings") {
    SUBCASE("chunked after another coding") {
        auto out = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\ntransfer-encoding: CHUNKED\r\n\r\n"
                         "1\r\nx\r\n0\r\n\r\n");
        REQUIRE(out.messages.size() == 1);
        CHECK(out.messages[0].framing == body_framing::chunked);
        CHECK(out.messages[0].body == "x");
    }
    SUBCASE("chunked not last is an error") {
        CHECK(parse_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n") == errc::bad_field);
        CHECK(parse_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n") ==
              errc::bad_field);
    }
    SUBCASE("no chunked: read until close") {
        auto out = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw");
        REQUIRE(out.messages.size() == 1);
        CHECK(out.messages[0].framing == body_framing::until_close);
        CHECK(out.messages[0].body == "raw");
        CHECK_FALSE(out.messages[0].keep_alive);
    }
    SUBCASE("chunked wins over Content-Length, and the connection is not reused") {
        auto out = parse("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "2\r\nok\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n");
        REQUIRE(out.messages.size() == 1);
        CHECK(out.messages[0].body == "ok");
        CHECK_FALSE(out.messages[0].keep_alive);
        CHECK(out.unused == 17);
    }
}

TEST_CASE("interim 1xx responses are skipped") {
    auto out = parse("HTTP/1.1 100 Continue\r\n\r\n"
                     "HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n"
                     "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
    REQUIRE(out.messages.size() == 1);
    CHECK(out.messages[0].status == 201);
    CHECK(out.messages[0].body == "ok");
    CHECK(out.messages[0].fields == std::vector<http::field>{{"Content-Length", "2"}});
}

TEST_CASE("101 Switching Protocols ends HTTP on the connection") {
    auto out = parse("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nbinary");
    REQUIRE(out.messages.size() == 1);
    CHECK(out.messages[0].status == 101);
    CHECK(out.messages[0].framing == body_framing::none);
    CHECK_FALSE(out.messages[0].keep_alive);
    CHECK(out.unused == 6);
}

TEST_CASE("responses without a body") {
    SUBCASE("204 and 304 ignore Content-Length") {
        auto out = parse("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"
                         "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"
                         "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz");
        REQUIRE(out.messages.size() == 3);
        CHECK(out.messages[0].status == 204);
        CHECK(out.messages[0].body.empty());
        CHECK(out.messages[0].framing == body_framing::none);
        CHECK(out.messages[1].status == 304);
        CHECK(out.messages[1].body.empty());
        CHECK(out.messages[2].body == "z");
    }
    SUBCASE("HEAD") {
        options head{.head_request = true};
        auto out = parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
                         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                         head);
        REQUIRE(out.messages.size() == 2);
        CHECK(out.messages[0].body.empty());
        CHECK(out.messages[0].framing == body_framing::none);
        CHECK(out.messages[0].keep_alive);
        CHECK(out.messages[1].body.empty());
    }
    SUBCASE("Content-Length: 0") {
        auto out = parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        REQUIRE(out.messages.size() == 1);
        CHECK(out.messages[0].body.empty());
        CHECK(out.messages[0].keep_alive);
    }
}

TEST_CASE("body until the connection closes") {
    auto out = parse("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of\r\nthis");
    REQUIRE(out.messages.size() == 1);
    CHECK(out.messages[0].framing == body_framing::until_close);
    CHECK(out.messages[0].body == "all of\r\nthis");
    CHECK_FALSE(out.messages[0].keep_alive);

    options open{.end = at_end::keep_open};
    CHECK(parse("HTTP/1.1 200 OK\r\n\r\nmore to come", open).incomplete);

    auto empty = parse("HTTP/1.1 200 OK\r\n\r\n");
    REQUIRE(empty.messages.size() == 1);
    CHECK(empty.messages[0].body.empty());
}

TEST_CASE("keep-alive") {
    auto keep = [](std::string_view in) {
        auto out = parse(in);
        REQUIRE(out.messages.size() == 1);
        return out.messages[0].keep_alive;
    };
    CHECK(keep("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    CHECK_FALSE(keep("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"));
    CHECK_FALSE(keep("HTTP/1.1 200 OK\r\nConnection: upgrade, Close\r\nContent-Length: 0\r\n\r\n"));
    CHECK_FALSE(keep("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
    CHECK(keep("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n"));
    CHECK_FALSE(
        keep("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"));
}

TEST_CASE("Content-Length values") {
    auto body = [](std::string_view in) {
        auto out = parse(in);
        REQUIRE(out.messages.size() == 1);
        return out.messages[0].body;
    };
    CHECK(body("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc") == "abc");
    CHECK(body("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\nabc") == "abc");
    CHECK(body("HTTP/1.1 200 OK\r\nContent-Length: 003\r\n\r\nabc") == "abc");

    for (std::string_view v : {"3\r\nContent-Length: 4",
                               "3, 4",
                               "abc",
                               "-1",
                               "+3",
                               "",
                               "3 3",
                               "0x3",
                               "99999999999999999999999999"}) {
        CAPTURE(v);
        auto in = "HTTP/1.1 200 OK\r\nContent-Length: " + std::string(v) + "\r\n\r\nabc";
        CHECK(parse_error(in) == errc::bad_content_length);
    }
}

TEST_CASE("pipelined responses") {
    std::string_view both =
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"
        "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n";
    http::response_parser p;
    auto n = p.feed(both);
    REQUIRE(n);
    CHECK(*n == 41);
    CHECK(p.done());
    CHECK(p.take_body() == "one");
    // Once done, further bytes are left alone.
    auto again = p.feed(both.substr(*n));
    REQUIRE(again);
    CHECK(*again == 0);

    p.reset();
    auto m = p.feed(both.substr(*n));
    REQUIRE(m);
    CHECK(*m == both.size() - 41);
    CHECK(p.done());
    CHECK(p.head().status == 404);
    CHECK(p.take_body() == "two");

    auto out = parse(both);
    REQUIRE(out.messages.size() == 2);
    CHECK(out.messages[1].body == "two");
}

TEST_CASE("malformed status lines") {
    for (std::string_view line : {"HTTP/2 200 OK",
                                  "HTTP/2.0 200 OK",
                                  "http/1.1 200 OK",
                                  "HTTP/1.1 20 OK",
                                  "HTTP/1.1 2000 OK",
                                  "HTTP/1.1 200OK",
                                  "HTTP/1.1 abc OK",
                                  "HTTP/1.1 099 Low",
                                  "HTTP/1.1  200 OK",
                                  "HTTP/1.1",
                                  "",
                                  "garbage",
                                  "HTTP/1.1 200 O\x01K"}) {
        CAPTURE(line);
        CHECK(parse_error(std::string(line) + "\r\nContent-Length: 0\r\n\r\n") == errc::bad_status_line);
    }
    CHECK(parse_error("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n") == errc::bad_status_line);
    CHECK(parse_error("HTTP/1.1 200 O\rK\r\n\r\n") == errc::bad_status_line);
}

TEST_CASE("malformed fields") {
    for (std::string_view f : {" folded",
                               "\tfolded",
                               "NoColon",
                               "Bad Name: x",
                               "Name : x",
                               ": empty name",
                               "X: a\x01",
                               "X: a\x7f"}) {
        CAPTURE(f);
        CHECK(parse_error("HTTP/1.1 200 OK\r\nX-A: a\r\n" + std::string(f) + "\r\n\r\n") == errc::bad_field);
    }
    CHECK(parse_error("HTTP/1.1 200 OK\r\nX-A: a\n\r\n") == errc::bad_field);
}

TEST_CASE("malformed chunked bodies") {
    std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    CHECK(parse_error(head + "zz\r\n") == errc::bad_chunk);
    CHECK(parse_error(head + "\r\n") == errc::bad_chunk);
    CHECK(parse_error(head + ";ext\r\n") == errc::bad_chunk);
    CHECK(parse_error(head + "5 x\r\nhello\r\n") == errc::bad_chunk);
    CHECK(parse_error(head + "-5\r\n") == errc::bad_chunk);
    CHECK(parse_error(head + "5\nhello\r\n") == errc::bad_chunk);
    // Overflows 64 bits.
    CHECK(parse_error(head + "10000000000000000\r\n") == errc::bad_chunk);
    CHECK(parse_error(head + "fffffffffffffffff\r\n") == errc::bad_chunk);
    // Missing CRLF after the data.
    CHECK(parse_error(head + "5\r\nhelloX\r\n0\r\n\r\n") == errc::bad_chunk);
    CHECK(parse_error(head + "5\r\nhello\rX0\r\n\r\n") == errc::bad_chunk);
    CHECK(parse_error(head + "5\r\nhello\n0\r\n\r\n") == errc::bad_chunk);
    CHECK(parse_error(head + "0\r\nbad trailer\r\n\r\n") == errc::bad_field);
    CHECK(parse_error(head + std::string(5000, '0') + "1\r\n") == errc::bad_chunk);
    // Leading zeros are fine as long as the line is short.
    auto out = parse(head + "0000000000000000000003\r\nabc\r\n0\r\n\r\n");
    REQUIRE(out.messages.size() == 1);
    CHECK(out.messages[0].body == "abc");
}

TEST_CASE("limits") {
    options small{.limits = {.max_head_bytes = 64, .max_body_bytes = 8}};
    SUBCASE("head") {
        std::string fits = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX: 123456789012345678901\r\n\r\n";
        REQUIRE(fits.size() == 64);
        CHECK(parse(fits, small).messages.size() == 1);
        CHECK(parse_error("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX: 1234567890123456789012\r\n\r\n",
                          small) == errc::head_too_large);
        CHECK(parse_error("HTTP/1.1 200 OK" + std::string(100, 'x'), small) == errc::head_too_large);
        // Interim heads count too.
        CHECK(parse_error(
                  "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n",
                  small) == errc::head_too_large);
    }
    SUBCASE("body") {
        CHECK(parse("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n12345678", small).messages.size() == 1);
        CHECK(parse_error("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n123456789", small) ==
              errc::body_too_large);
        CHECK(parse_error("HTTP/1.1 200 OK\r\n\r\n123456789", small) == errc::body_too_large);
        std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        CHECK(parse(chunked + "4\r\n1234\r\n4\r\n5678\r\n0\r\n\r\n", small).messages.size() == 1);
        CHECK(parse_error(chunked + "4\r\n1234\r\n5\r\n56789\r\n0\r\n\r\n", small) == errc::body_too_large);
        CHECK(parse_error(chunked + "ffffffff\r\n", small) == errc::body_too_large);
    }
    SUBCASE("trailers") {
        std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
        CHECK(parse_error(chunked + "X: " + std::string(100, 'a') + "\r\n\r\n", small) ==
              errc::head_too_large);
    }
}

TEST_CASE("end of stream before the message is complete") {
    CHECK(parse_error("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel") == errc::unexpected_eof);
    CHECK(parse_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel") ==
          errc::unexpected_eof);
    CHECK(parse_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n") ==
          errc::unexpected_eof);
    CHECK(parse_error("HTTP/1.1 200 OK\r\nContent-Le") == errc::unexpected_eof);
    CHECK(parse_error("HTTP/1.1 100 Continue\r\n\r\n") == errc::unexpected_eof);

    http::response_parser p;
    auto r = p.finish_eof();
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::unexpected_eof);
}

TEST_CASE("errors are sticky until reset") {
    http::response_parser p;
    auto bad = p.feed("HTTP/9.9 200 OK\r\n");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == errc::bad_status_line);
    CHECK_FALSE(p.keep_alive());
    auto again = p.feed("HTTP/1.1 200 OK\r\n\r\n");
    REQUIRE_FALSE(again);
    CHECK(again.error().code == errc::bad_status_line);
    CHECK_FALSE(p.finish_eof());

    p.reset();
    auto ok = p.feed("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    REQUIRE(ok);
    CHECK(p.done());
    CHECK(p.keep_alive());
}
