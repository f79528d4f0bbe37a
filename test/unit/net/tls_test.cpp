#include <kubecoro/net/errc.hpp>
#include <kubecoro/net/http_server.hpp>
#include <kubecoro/net/tls.hpp>

#include <doctest/doctest.h>

using namespace kubecoro;

TEST_CASE("tls_context rejects unusable material without echoing it") {
    net::tls_config c;
    c.ca_pem = "not a certificate SECRET-ISH";
    auto ctx = net::tls_context::create(c);
    REQUIRE_FALSE(ctx);
    CHECK(ctx.error().code == net::errc::tls_config);
    CHECK(ctx.error().message.find("certificate authority") != std::string::npos);
    CHECK(ctx.error().message.find("SECRET-ISH") == std::string::npos);

    net::tls_config half;
    half.client_cert_pem = "-----BEGIN CERTIFICATE-----\n";
    ctx = net::tls_context::create(half);
    REQUIRE_FALSE(ctx);
    CHECK(ctx.error().code == net::errc::tls_config);
}

TEST_CASE("tls_context with system roots or without verification") {
    CHECK(net::tls_context::create({}));
    net::tls_config insecure;
    insecure.insecure_skip_verify = true;
    insecure.ca_pem = "ignored when not verifying";
    CHECK(net::tls_context::create(insecure));
}

TEST_CASE("serialize_reply frames the body") {
    net::http_reply r;
    r.status = 503;
    r.body = "not ready\n";
    r.fields.push_back({"X-Probe", "readyz"});
    CHECK(net::serialize_reply(r, false) ==
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nX-Probe: readyz\r\n"
          "Content-Length: 10\r\nConnection: close\r\n\r\nnot ready\n");
    auto head = net::serialize_reply(r, true, true);
    CHECK(head.find("Connection: keep-alive\r\n\r\n") != std::string::npos);
    CHECK(head.find("not ready") == std::string::npos);
}
