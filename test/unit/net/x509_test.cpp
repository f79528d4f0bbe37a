#include <kubecoro/net/errc.hpp>
#include <kubecoro/net/tls.hpp>
#include <kubecoro/net/x509.hpp>

#include <doctest/doctest.h>

using namespace kubecoro;
using namespace std::chrono_literals;

namespace {

net::issued_certificate make_ca(std::string name = "test-ca") {
    auto ca = net::issue_certificate({std::move(name), {}, {}, std::chrono::hours(24), true});
    REQUIRE(ca);
    return *ca;
}

} // namespace

TEST_CASE("x509: a CA signs a serving certificate that verifies against it and no other CA") {
    auto ca = make_ca();
    auto leaf = net::issue_certificate({"svc.ns.svc", {"svc", "svc.ns.svc"}, {"127.0.0.1"}, 3600s}, &ca);
    REQUIRE(leaf);
    CHECK(leaf->certificate_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    CHECK(leaf->key_pem.find("PRIVATE KEY") != std::string::npos);
    CHECK(net::verifies(leaf->certificate_pem, ca.certificate_pem));
    CHECK_FALSE(net::verifies(leaf->certificate_pem, make_ca("other").certificate_pem));
    CHECK_FALSE(net::verifies(leaf->certificate_pem, "not a CA"));
    CHECK_FALSE(net::verifies("not a certificate", ca.certificate_pem));
    // A bundle of an unrelated CA and the right one verifies.
    CHECK(net::verifies(leaf->certificate_pem, make_ca("other").certificate_pem + ca.certificate_pem));

    auto info = net::read_certificates(leaf->certificate_pem);
    REQUIRE(info);
    REQUIRE(info->size() == 1);
    CHECK(info->front().common_name == "svc.ns.svc");
    CHECK_FALSE(info->front().certificate_authority);
    auto lifetime = info->front().not_after - std::chrono::system_clock::now();
    CHECK(lifetime > 3590s);
    CHECK(lifetime <= 3600s);
    CHECK(info->front().not_before < std::chrono::system_clock::now());
    auto ca_info = net::read_certificates(ca.certificate_pem);
    REQUIRE(ca_info);
    CHECK(ca_info->front().certificate_authority);
    // Serials are random: two certificates differ.
    auto again = net::issue_certificate({"svc.ns.svc", {"svc"}, {}, 3600s}, &ca);
    REQUIRE(again);
    CHECK(net::read_certificates(again->certificate_pem)->front().serial != info->front().serial);
}

TEST_CASE(
    "x509: a certificate signed by an intermediate verifies with its chain, or against the intermediate") {
    auto root_ca = net::issue_certificate({"root", {}, {}, std::chrono::hours(1), true, 1});
    REQUIRE(root_ca);
    const auto& root = *root_ca;
    auto intermediate = net::issue_certificate({"intermediate", {}, {}, std::chrono::hours(1), true}, &root);
    REQUIRE(intermediate);
    auto leaf = net::issue_certificate({"svc", {"svc"}, {}, 600s}, &*intermediate);
    REQUIRE(leaf);
    CHECK_FALSE(net::verifies(leaf->certificate_pem, root.certificate_pem)); // chain missing
    CHECK(net::verifies(leaf->certificate_pem + intermediate->certificate_pem, root.certificate_pem));
    CHECK(net::verifies(leaf->certificate_pem, intermediate->certificate_pem));
}

TEST_CASE("x509: bad requests and bad PEM fail without echoing key material") {
    CHECK_FALSE(net::issue_certificate({"x", {}, {}, 0s}));
    auto bad_ip = net::issue_certificate({"x", {}, {"not-an-ip"}, 60s});
    REQUIRE_FALSE(bad_ip);
    CHECK(bad_ip.error().code == net::errc::tls_config);
    net::issued_certificate broken{"nope", "SECRET-KEY"};
    auto signed_by_broken = net::issue_certificate({"x", {}, {}, 60s}, &broken);
    REQUIRE_FALSE(signed_by_broken);
    CHECK(signed_by_broken.error().message.find("SECRET-KEY") == std::string::npos);
    CHECK_FALSE(net::read_certificates(""));
    CHECK_FALSE(net::read_certificates("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
}

TEST_CASE("tls_server_context: a certificate with its own key, not another's") {
    auto ca = make_ca();
    auto a = net::issue_certificate({"a", {"a"}, {}, 60s}, &ca);
    auto b = net::issue_certificate({"b", {"b"}, {}, 60s}, &ca);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(net::tls_server_context::create(a->certificate_pem, a->key_pem));
    auto mixed = net::tls_server_context::create(a->certificate_pem, b->key_pem);
    REQUIRE_FALSE(mixed);
    CHECK(mixed.error().code == net::errc::tls_config);
    auto garbage = net::tls_server_context::create("x", "SECRET");
    REQUIRE_FALSE(garbage);
    CHECK(garbage.error().message.find("SECRET") == std::string::npos);
}
