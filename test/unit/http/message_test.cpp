#include <kubecoro/http/message.hpp>
#include <kubecoro/http/request_parser.hpp>

#include <doctest/doctest.h>

using namespace kubecoro;

TEST_CASE("find_field is case-insensitive and returns the first match") {
    std::vector<http::field> fields{{"Content-Type", "a"}, {"X-Dup", "1"}, {"x-dup", "2"}};
    CHECK(http::find_field(fields, "content-type") == "a");
    CHECK(http::find_field(fields, "X-DUP") == "1");
    CHECK_FALSE(http::find_field(fields, "content"));
    CHECK_FALSE(http::find_field({}, "x"));
}

TEST_CASE("serialize") {
    http::request get{"GET", "/api/v1/namespaces/default/pods?limit=10", {{"Host", "k8s"}}, ""};
    CHECK(http::serialize(get) ==
          "GET /api/v1/namespaces/default/pods?limit=10 HTTP/1.1\r\nHost: k8s\r\n\r\n");

    http::request post{"POST", "/x", {{"Host", "k8s"}}, ""};
    CHECK(http::serialize(post) == "POST /x HTTP/1.1\r\nHost: k8s\r\nContent-Length: 0\r\n\r\n");

    http::request patch{"PATCH", "/x", {{"Content-Type", "application/merge-patch+json"}}, "{\"a\":1}"};
    CHECK(http::serialize(patch) == "PATCH /x HTTP/1.1\r\nContent-Type: "
                                    "application/merge-patch+json\r\nContent-Length: 7\r\n\r\n{\"a\":1}");

    http::request own{"PUT", "/x", {{"content-length", "2"}}, "{}"};
    CHECK(http::serialize(own) == "PUT /x HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}");

    http::request del{"DELETE", "/x", {}, "{}"};
    CHECK(http::serialize(del) == "DELETE /x HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}");
}

TEST_CASE("a serialized request parses back") {
    http::request req{"POST", "/p?q=1", {{"Host", "h"}, {"X-A", "b"}}, "body"};
    http::request_parser p({.max_body_bytes = 16});
    auto wire = http::serialize(req);
    auto n = p.feed(wire);
    REQUIRE(n);
    CHECK(*n == wire.size());
    REQUIRE(p.done());
    CHECK(p.head().method == req.method);
    CHECK(p.head().target == req.target);
    CHECK(p.head().body == req.body);
    CHECK(p.head().fields.size() == 3);
}
