#include <kubecoro/http/request_parser.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

using namespace kubecoro;
using http::errc;

namespace {

struct parsed {
    std::string method;
    std::string target;
    std::vector<http::field> fields;
    std::string body;
    bool keep_alive = false;
    bool operator==(const parsed&) const = default;
};

struct outcome {
    std::vector<parsed> requests;
    std::optional<std::error_code> error;
    bool incomplete = false;
    bool operator==(const outcome&) const = default;
};

outcome drive(const std::vector<std::string_view>& pieces, http::request_limits limits) {
    http::request_parser p(limits);
    outcome out;
    bool started = false;
    for (auto in : pieces) {
        while (!in.empty()) {
            auto n = p.feed(in);
            if (!n) {
                out.error = n.error().code;
                return out;
            }
            started = true;
            in.remove_prefix(*n);
            if (p.done()) {
                auto& h = p.head();
                out.requests.push_back({h.method, h.target, h.fields, h.body, p.keep_alive()});
                p.reset();
                started = false;
            } else {
                REQUIRE(in.empty());
            }
        }
    }
    out.incomplete = started;
    return out;
}

outcome parse(std::string_view input, http::request_limits limits = {}) {
    auto whole = drive({input}, limits);
    for (std::size_t i = 0; i <= input.size(); ++i) {
        CAPTURE(i);
        CHECK(drive({input.substr(0, i), input.substr(i)}, limits) == whole);
    }
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < input.size(); ++i)
        bytes.push_back(input.substr(i, 1));
    CHECK(drive(bytes, limits) == whole);
    return whole;
}

std::error_code parse_error(std::string_view input, http::request_limits limits = {}) {
    auto out = parse(input, limits);
    REQUIRE(out.error);
    return *out.error;
}

} // namespace

TEST_CASE("a probe request") {
    auto out = parse("GET /healthz HTTP/1.1\r\nHost: 10.0.0.1:8081\r\nUser-Agent: kube-probe/1.29\r\n\r\n");
    REQUIRE(out.requests.size() == 1);
    auto& r = out.requests[0];
    CHECK(r.method == "GET");
    CHECK(r.target == "/healthz");
    CHECK(r.fields == std::vector<http::field>{{"Host", "10.0.0.1:8081"}, {"User-Agent", "kube-probe/1.29"}});
    CHECK(r.body.empty());
    CHECK(r.keep_alive);
    CHECK_FALSE(out.incomplete);
}

TEST_CASE("pipelined requests, with stray empty lines between them") {
    std::string_view two = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n\r\nGET /readyz?verbose HTTP/1.1\r\n\r\n";
    http::request_parser p;
    auto n = p.feed(two);
    REQUIRE(n);
    CHECK(*n == 34);
    CHECK(p.done());
    CHECK(p.head().target == "/metrics");

    auto out = parse(two);
    REQUIRE(out.requests.size() == 2);
    CHECK(out.requests[1].target == "/readyz?verbose");
    CHECK(out.requests[1].fields.empty());
}

TEST_CASE("request keep-alive") {
    auto keep = [](std::string_view in) {
        auto out = parse(in);
        REQUIRE(out.requests.size() == 1);
        return out.requests[0].keep_alive;
    };
    CHECK(keep("GET / HTTP/1.1\r\n\r\n"));
    CHECK_FALSE(keep("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
    CHECK_FALSE(keep("GET / HTTP/1.0\r\n\r\n"));
    CHECK(keep("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
}

TEST_CASE("request bodies") {
    CHECK(parse_error("POST /x HTTP/1.1\r\nContent-Length: 1\r\n\r\na") == errc::body_too_large);
    CHECK(parse("POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n").requests.size() == 1);
    auto out = parse("POST /x HTTP/1.1\r\nContent-Length: 4\r\n\r\nbodyGET / HTTP/1.1\r\n\r\n",
                     {.max_body_bytes = 4});
    REQUIRE(out.requests.size() == 2);
    CHECK(out.requests[0].body == "body");
    CHECK(parse_error("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") ==
          errc::unsupported_transfer_coding);
    CHECK(parse_error("POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n") ==
          errc::bad_content_length);
    CHECK(parse("POST /x HTTP/1.1\r\nContent-Length: 4\r\n\r\nbo", {.max_body_bytes = 4}).incomplete);
}

TEST_CASE("malformed requests") {
    for (std::string_view line : {"GET /",
                                  "GET  / HTTP/1.1",
                                  "GET / HTTP/1.1 ",
                                  "GET / HTTP/2.0",
                                  "G(T / HTTP/1.1",
                                  " GET / HTTP/1.1",
                                  "GET /a\x01 HTTP/1.1",
                                  "GET / http/1.1"}) {
        CAPTURE(line);
        CHECK(parse_error(std::string(line) + "\r\n\r\n") == errc::bad_request_line);
    }
    CHECK(parse_error("GET / HTTP/1.1\r\n folded\r\n\r\n") == errc::bad_field);
    CHECK(parse_error("GET / HTTP/1.1\r\nHost : x\r\n\r\n") == errc::bad_field);
    CHECK(parse_error("GET / HTTP/1.1\nHost: x\r\n\r\n") == errc::bad_field);
    CHECK(parse_error("GET /" + std::string(10000, 'a') + " HTTP/1.1\r\n\r\n") == errc::head_too_large);
    CHECK(parse_error("GET / HTTP/1.1\r\n" + std::string(100, 'x'), {.max_head_bytes = 64}) ==
          errc::head_too_large);
    CHECK(parse_error("\r\n\r\n\r\n\r\n\r\n", {.max_head_bytes = 8}) == errc::head_too_large);
}

TEST_CASE("request errors are sticky until reset") {
    http::request_parser p;
    REQUIRE_FALSE(p.feed("BAD\r\n"));
    auto again = p.feed("GET / HTTP/1.1\r\n\r\n");
    REQUIRE_FALSE(again);
    CHECK(again.error().code == errc::bad_request_line);
    p.reset();
    REQUIRE(p.feed("GET / HTTP/1.1\r\n\r\n"));
    CHECK(p.done());
}
