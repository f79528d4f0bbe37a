#include <kubecoro/config/errc.hpp>
#include <kubecoro/config/exec_credential.hpp>
#include <kubecoro/json/json.hpp>

#include <doctest/doctest.h>

#include <chrono>

using namespace kubecoro;
using namespace std::chrono;

namespace {
constexpr std::string_view v1 = config::exec_api_v1;
constexpr std::string_view v1beta1 = config::exec_api_v1beta1;

system_clock::time_point utc(int y, unsigned mo, unsigned d, int h, int mi, int s) {
    return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s};
}
} // namespace

TEST_CASE("an ExecCredential v1 with a token and an expiry") {
    auto r = config::parse_exec_credential(
        R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{},
            "status":{"token":"tok-123","expirationTimestamp":"2030-01-02T03:04:05Z"}})",
        v1);
    REQUIRE(r);
    CHECK(r->token == "tok-123");
    CHECK(r->client_certificate_data.empty());
    REQUIRE(r->expiration);
    CHECK(*r->expiration == utc(2030, 1, 2, 3, 4, 5));
}

TEST_CASE("an ExecCredential v1beta1 with a client certificate and no expiry") {
    auto r = config::parse_exec_credential(
        R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1",
            "status":{"clientCertificateData":"CERT","clientKeyData":"KEY","expirationTimestamp":null}})",
        v1beta1);
    REQUIRE(r);
    CHECK(r->token.empty());
    CHECK(r->client_certificate_data == "CERT");
    CHECK(r->client_key_data == "KEY");
    CHECK_FALSE(r->expiration);
}

TEST_CASE("unusable ExecCredential output is exec_failed and never quotes the output") {
    const std::pair<std::string, std::string> cases[] = {
        {"{not json secret-tok", "not valid JSON"},
        {R"(["secret-tok"])", "not a JSON object"},
        {R"({"kind":"Pod","apiVersion":"client.authentication.k8s.io/v1","status":{"token":"secret-tok"}})",
         "kind \"Pod\""},
        {R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","status":{"token":"secret-tok"}})",
         "configured to use API version client.authentication.k8s.io/v1, plugin returned version "
         "\"client.authentication.k8s.io/v1beta1\""},
        {R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1"})", "no status"},
        {R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{}})",
         "neither a token nor"},
        {R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"clientCertificateData":"C"}})",
         "only one of"},
        {R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"token":42}})",
         "status.token is not a string"},
        {R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1",
             "status":{"token":"secret-tok","expirationTimestamp":"tomorrow"}})",
         "expirationTimestamp"},
    };
    for (const auto& c : cases) {
        const std::string& text = c.first; // clang 14 cannot capture structured bindings (CAPTURE)
        const std::string& expected = c.second;
        CAPTURE(text);
        auto r = config::parse_exec_credential(text, v1);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == config::errc::exec_failed);
        CHECK(r.error().message.find(expected) != std::string::npos);
        CHECK(r.error().message.find("secret-tok") == std::string::npos);
    }
}

TEST_CASE("only the v1 and v1beta1 ExecCredential APIs are accepted") {
    auto r = config::parse_exec_credential(
        R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1alpha1","status":{"token":"t"}})",
        "client.authentication.k8s.io/v1alpha1");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == config::errc::exec_failed);
}

TEST_CASE("RFC 3339 times") {
    CHECK(*config::parse_rfc3339("1970-01-01T00:00:00Z") == system_clock::time_point{});
    CHECK(*config::parse_rfc3339("2024-02-29T23:59:59z") == utc(2024, 2, 29, 23, 59, 59));
    CHECK(*config::parse_rfc3339("2024-05-01T14:00:00+02:00") == utc(2024, 5, 1, 12, 0, 0));
    CHECK(*config::parse_rfc3339("2024-05-01T00:30:00-01:30") == utc(2024, 5, 1, 2, 0, 0));
    CHECK(*config::parse_rfc3339("2024-05-01T12:00:00.25Z") == utc(2024, 5, 1, 12, 0, 0) + milliseconds(250));
    CHECK(*config::parse_rfc3339("2024-05-01T12:00:00.123456789Z") ==
          utc(2024, 5, 1, 12, 0, 0) + duration_cast<system_clock::duration>(nanoseconds(123456789)));
    for (const char* bad : {"",
                            "2024-05-01",
                            "2024-05-01T12:00:00",
                            "2023-02-29T00:00:00Z",
                            "2024-13-01T00:00:00Z",
                            "2024-05-01T24:00:00Z",
                            "2024-05-01T12:00:60Z",
                            "2024-05-01T12:00:00.Z",
                            "2024-05-01T12:00:00Zjunk",
                            "2024-05-01 12:00:00Z",
                            "2024-05-01T12:00:00+0200",
                            "+024-05-01T12:00:00Z"}) {
        CAPTURE(bad);
        CHECK_FALSE(config::parse_rfc3339(bad));
    }
}

TEST_CASE("KUBERNETES_EXEC_INFO is non-interactive and carries cluster info only when asked") {
    config::exec_config exec{.api_version = std::string(v1), .command = "plugin"};
    config::cluster_config cluster{.server = "https://k:6443", .ca_pem = "PEM", .tls_server_name = "kube"};
    cluster.token = "secret";

    auto plain = json::parse(config::exec_info_json(exec, cluster));
    REQUIRE(plain);
    CHECK(plain->at("apiVersion")->string_or("") == v1);
    CHECK(plain->at("kind")->string_or("") == "ExecCredential");
    REQUIRE(plain->at("spec", "interactive"));
    CHECK(plain->at("spec", "interactive")->bool_or(true) == false);
    CHECK_FALSE(plain->at("spec", "cluster"));

    exec.provide_cluster_info = true;
    const std::string text = config::exec_info_json(exec, cluster);
    CHECK(text.find("secret") == std::string::npos);
    auto with_cluster = json::parse(text);
    REQUIRE(with_cluster);
    CHECK(with_cluster->at("spec", "cluster", "server")->string_or("") == "https://k:6443");
    CHECK(with_cluster->at("spec", "cluster", "tls-server-name")->string_or("") == "kube");
    CHECK(with_cluster->at("spec", "cluster", "certificate-authority-data")->string_or("") == "UEVN");
    CHECK_FALSE(with_cluster->at("spec", "cluster", "insecure-skip-tls-verify"));
}
