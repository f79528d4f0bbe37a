// The webhook certificate keeper against a fake API server: issue, share, renew, read someone
// else's, and keep the caBundle current.
#include <kubecoro/admission/certificates.hpp>
#include <kubecoro/core/base64.hpp>
#include <kubecoro/net/x509.hpp>
#include <kubecoro/testing/fake_cluster.hpp>

#include <doctest/doctest.h>

#include <optional>

using namespace kubecoro;
using namespace std::chrono_literals;
using testing::text;

namespace {

const api::resource secrets{"", "v1", "secrets", "Secret"};
const api::resource configurations{"admissionregistration.k8s.io",
                                   "v1",
                                   "validatingwebhookconfigurations",
                                   "ValidatingWebhookConfiguration",
                                   api::scope::cluster};

struct fixture {
    asio::io_context io;
    testing::fake_cluster cluster{io};
    log::logger quiet{log::logger_config{.min_level = log::level::error}};

    fixture() {
        cluster.serve(configurations);
        cluster.put(
            configurations,
            json::object{{"metadata", json::object{{"name", "kubecoro"}}},
                         {"webhooks",
                          json::array{json::object{{"name", "a.kubecoro.dev"}, {"sideEffects", "None"}},
                                      json::object{{"name", "b.kubecoro.dev"}, {"sideEffects", "None"}}}}});
    }

    admission::certificate_options options(std::chrono::seconds validity = 3600s) {
        admission::certificate_options o;
        o.namespace_ = "ops";
        o.secret_name = "webhook-cert";
        o.service_name = "kubecoro-webhook";
        o.validating_configurations = {"kubecoro"};
        o.validity = validity;
        return o;
    }

    core::result<void> start(admission::certificate_keeper& k) {
        std::optional<core::result<void>> out;
        asio::co_spawn(io, k.start(), [&](std::exception_ptr e, core::result<void> r) {
            REQUIRE_FALSE(e);
            out = std::move(r);
        });
        io.run();
        io.restart();
        REQUIRE(out);
        return *out;
    }

    std::string field(std::string_view key) {
        auto s = cluster.get(secrets, "ops", "webhook-cert");
        REQUIRE(s);
        const json::value* v = s->at("data", key);
        return v ? core::base64_decode(v->string_or("")).value_or("") : std::string();
    }
    std::string serial(const std::string& pem) {
        auto info = net::read_certificates(pem);
        REQUIRE(info);
        return info->front().serial;
    }
    std::vector<std::string> ca_bundles() {
        std::vector<std::string> out;
        auto c = cluster.get(configurations, "", "kubecoro");
        REQUIRE(c);
        for (const auto& w : *c->at("webhooks")->if_array())
            out.push_back(w.at("clientConfig", "caBundle") ? w.at("clientConfig", "caBundle")->string_or("")
                                                           : "");
        return out;
    }
    // A Secret holding `leaf` signed by `ca`, annotated as ours or not.
    void put_secret(const net::issued_certificate& ca, const net::issued_certificate& leaf, bool ours) {
        json::object meta{{"name", "webhook-cert"}, {"namespace", "ops"}};
        if (ours)
            meta.set("annotations", json::object{{std::string(admission::issued_by_annotation), "kubecoro"}});
        json::object data{{"tls.crt", core::base64_encode(leaf.certificate_pem)},
                          {"tls.key", core::base64_encode(leaf.key_pem)},
                          {"ca.crt", core::base64_encode(ca.certificate_pem)}};
        if (ours)
            data.set("ca.key", core::base64_encode(ca.key_pem));
        cluster.put(secrets,
                    json::object{{"metadata", std::move(meta)},
                                 {"type", "kubernetes.io/tls"},
                                 {"data", std::move(data)}});
    }
    net::issued_certificate issue(std::chrono::seconds validity,
                                  const net::issued_certificate* ca = nullptr) {
        auto c = net::issue_certificate(
            {"kubecoro-webhook.ops.svc", {"kubecoro-webhook.ops.svc"}, {}, validity, ca == nullptr}, ca);
        REQUIRE(c);
        return *c;
    }
};

} // namespace

TEST_CASE_FIXTURE(fixture,
                  "webhook certificate: issued into a new Secret, served, and its CA put in every caBundle") {
    admission::certificate_keeper k(cluster.client(), options(), quiet);
    CHECK_FALSE(k.current());
    REQUIRE(start(k));
    auto s = cluster.get(secrets, "ops", "webhook-cert");
    REQUIRE(s);
    CHECK(text(s, "type") == "kubernetes.io/tls");
    CHECK(text(s, "metadata", "annotations", "kubecoro.dev/issued-by") == "kubecoro");
    const std::string cert = field("tls.crt"), ca = field("ca.crt");
    CHECK(net::verifies(cert, ca));
    CHECK(k.current());
    CHECK(k.serving_certificate() == cert);
    auto info = net::read_certificates(cert);
    REQUIRE(info);
    CHECK(info->front().common_name == "kubecoro-webhook.ops.svc");
    CHECK(info->front().not_after - std::chrono::system_clock::now() > 3500s);
    CHECK(ca_bundles() == std::vector<std::string>{core::base64_encode(ca), core::base64_encode(ca)});

    // Another replica (or a restart) serves the same certificate and writes nothing.
    const auto writes = cluster.count("POST") + cluster.count("PATCH");
    admission::certificate_keeper other(cluster.client(), options(), quiet);
    REQUIRE(start(other));
    CHECK(other.serving_certificate() == cert);
    CHECK(cluster.count("POST") + cluster.count("PATCH") == writes);
}

TEST_CASE_FIXTURE(fixture,
                  "webhook certificate: with a third of its validity left it is renewed under the same CA") {
    auto ca = issue(36000s);
    auto old_leaf = issue(1000s, &ca); // 1000 s of 3600: due
    put_secret(ca, old_leaf, true);
    admission::certificate_keeper k(cluster.client(), options(3600s), quiet);
    REQUIRE(start(k));
    const std::string renewed = field("tls.crt");
    CHECK(serial(renewed) != serial(old_leaf.certificate_pem));
    CHECK(field("ca.crt") == ca.certificate_pem);
    CHECK(net::verifies(renewed, ca.certificate_pem));
    CHECK(k.serving_certificate() == renewed);
    // The write was conditional on the Secret it read.
    bool conditional = false;
    for (const auto& r : cluster.requests())
        if (r.method == "PATCH" && r.path.find("/secrets/webhook-cert") != std::string::npos)
            conditional = r.body.find("\"resourceVersion\"") != std::string::npos;
    CHECK(conditional);
    // Not due any more: the next check writes nothing.
    const auto patches = cluster.count("PATCH", "/secrets/");
    REQUIRE(start(k));
    CHECK(cluster.count("PATCH", "/secrets/") == patches);
}

TEST_CASE_FIXTURE(fixture,
                  "webhook certificate: a CA near its end is trusted next to its successor before it signs") {
    auto ca = issue(5000s);            // less than two serving validities left
    auto old_leaf = issue(1000s, &ca); // due as well
    put_secret(ca, old_leaf, true);
    admission::certificate_keeper k(cluster.client(), options(3600s), quiet);
    REQUIRE(start(k));
    // First the new CA joins the bundle (and so the caBundle); the served certificate stays.
    auto bundle = net::read_certificates(field("ca.crt"));
    REQUIRE(bundle);
    REQUIRE(bundle->size() == 2);
    CHECK(bundle->at(1).serial == serial(ca.certificate_pem));
    CHECK(bundle->at(0).not_after - std::chrono::system_clock::now() > 30000s);
    CHECK(field("tls.crt") == old_leaf.certificate_pem);
    CHECK(k.serving_certificate() == old_leaf.certificate_pem);
    CHECK(ca_bundles().front() == core::base64_encode(field("ca.crt")));
    // The next check renews the certificate under the new CA, the old one still trusted.
    REQUIRE(start(k));
    const std::string renewed = field("tls.crt");
    CHECK(renewed != old_leaf.certificate_pem);
    CHECK_FALSE(net::verifies(renewed, ca.certificate_pem));
    CHECK(net::verifies(renewed, field("ca.crt")));
    CHECK(net::read_certificates(field("ca.crt"))->size() == 2);
    CHECK(k.serving_certificate() == renewed);
}

TEST_CASE_FIXTURE(
    fixture, "webhook certificate: a Secret of ours that cert-manager took over is followed, not renewed") {
    auto ca = issue(36000s);
    auto leaf = issue(600s, &ca);
    put_secret(ca, leaf, true);
    auto s = *cluster.get(secrets, "ops", "webhook-cert");
    s.if_object()
        ->find("metadata")
        ->if_object()
        ->find("annotations")
        ->if_object()
        ->set("cert-manager.io/certificate-name", "webhook");
    cluster.put(secrets, s);
    admission::certificate_keeper k(cluster.client(), options(3600s), quiet);
    REQUIRE(start(k));
    CHECK(k.serving_certificate() == leaf.certificate_pem);
    CHECK(cluster.count("PATCH", "/secrets/") == 0);
}

TEST_CASE_FIXTURE(fixture,
                  "webhook certificate: a Secret from another issuer is read and followed, never renewed") {
    auto ca = issue(36000s);
    auto leaf = issue(600s, &ca); // due, were it ours
    put_secret(ca, leaf, false);
    admission::certificate_keeper k(cluster.client(), options(3600s), quiet);
    REQUIRE(start(k));
    CHECK(k.serving_certificate() == leaf.certificate_pem);
    CHECK(cluster.count("PATCH", "/secrets/") == 0);
    CHECK(ca_bundles().front() == core::base64_encode(ca.certificate_pem));

    // cert-manager rotates it, with a new CA: the next check serves it and follows the caBundle.
    auto ca2 = issue(36000s);
    auto leaf2 = issue(3600s, &ca2);
    put_secret(ca2, leaf2, false);
    REQUIRE(start(k));
    CHECK(k.serving_certificate() == leaf2.certificate_pem);
    CHECK(ca_bundles().back() == core::base64_encode(ca2.certificate_pem));

    // Unusable (a key of another certificate): refused, and the last good one is still served.
    auto stray = issue(3600s, &ca2);
    put_secret(ca2, net::issued_certificate{leaf2.certificate_pem, stray.key_pem}, false);
    auto r = start(k);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("no usable webhook certificate") != std::string::npos);
    CHECK(k.serving_certificate() == leaf2.certificate_pem);
}

TEST_CASE("webhook certificate: checked every tenth of the validity, between 1 s and a minute") {
    CHECK(admission::check_interval(std::chrono::hours(8760)) == 60s);
    CHECK(admission::check_interval(100s) == 10s);
    CHECK(admission::check_interval(5s) == 1s);
}
