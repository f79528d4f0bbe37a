#include <kubecoro/net/address.hpp>
#include <kubecoro/net/errc.hpp>

#include <doctest/doctest.h>

using namespace kubecoro;

TEST_CASE("server URLs give scheme, host, port and path prefix") {
    auto u = net::parse_server_url("https://127.0.0.1:6443");
    REQUIRE(u);
    CHECK(u->scheme == net::scheme::https);
    CHECK(u->ep.host == "127.0.0.1");
    CHECK(u->ep.port == 6443);
    CHECK(u->path_prefix.empty());

    u = net::parse_server_url("https://kubernetes.default.svc");
    REQUIRE(u);
    CHECK(u->ep.host == "kubernetes.default.svc");
    CHECK(u->ep.port == 443);

    u = net::parse_server_url("http://proxy:8001/k8s/clusters/c-1/");
    REQUIRE(u);
    CHECK(u->scheme == net::scheme::http);
    CHECK(u->ep.port == 8001);
    CHECK(u->path_prefix == "/k8s/clusters/c-1");

    u = net::parse_server_url("https://[::1]:6443");
    REQUIRE(u);
    CHECK(u->ep.host == "::1");
    CHECK(u->ep.to_string() == "[::1]:6443");
}

TEST_CASE("bad server URLs fail with bad_address and name the input") {
    for (const char* bad : {"127.0.0.1:6443",
                            "ftp://host",
                            "https://",
                            "https://host:99999",
                            "https://host:0",
                            "https://host:x",
                            "https://::1:6443",
                            "https://user@host",
                            "https://host/p?q=1"}) {
        CAPTURE(bad);
        auto u = net::parse_server_url(bad);
        REQUIRE_FALSE(u);
        CHECK(u.error().code == net::errc::bad_address);
        CHECK(u.error().message.find(bad) != std::string::npos);
    }
}

TEST_CASE("listen addresses") {
    auto a = net::parse_listen_address(":8081");
    REQUIRE(a);
    REQUIRE(*a);
    CHECK((*a)->host == "0.0.0.0");
    CHECK((*a)->port == 8081);

    a = net::parse_listen_address("127.0.0.1:0");
    REQUIRE(a);
    REQUIRE(*a);
    CHECK((*a)->to_string() == "127.0.0.1:0");

    a = net::parse_listen_address("[::1]:9000");
    REQUIRE(a);
    REQUIRE(*a);
    CHECK((*a)->host == "::1");

    a = net::parse_listen_address("localhost:80");
    REQUIRE(a);
    REQUIRE(*a);
    CHECK((*a)->host == "127.0.0.1");

    for (const char* off : {"0", ""}) {
        a = net::parse_listen_address(off);
        REQUIRE(a);
        CHECK_FALSE(*a);
    }
    for (const char* bad : {"8081", "example.com:80", ":65536", ":", "1.2.3.4:-1", "[::1"}) {
        CAPTURE(bad);
        a = net::parse_listen_address(bad);
        REQUIRE_FALSE(a);
        CHECK(a.error().code == net::errc::bad_address);
    }
}

TEST_CASE("IP literals") {
    CHECK(net::is_ip_literal("10.0.0.1"));
    CHECK(net::is_ip_literal("fe80::1"));
    CHECK_FALSE(net::is_ip_literal("kubernetes"));
    CHECK_FALSE(net::is_ip_literal("10.0.0"));
}
