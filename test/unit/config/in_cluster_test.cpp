#include "unit/config/support.hpp"
#include <kubecoro/config/cluster_config.hpp>
#include <kubecoro/config/errc.hpp>

#include <doctest/doctest.h>

using namespace kubecoro;
using test::env_var;
using test::temp_dir;

TEST_CASE("in-cluster service account layout") {
    temp_dir dir;
    const std::string root = dir / "sa";
    dir.write("sa/token", "eyJhbGciOi.token\n");
    dir.write("sa/ca.crt", "CA PEM");
    dir.write("sa/namespace", "operators\n");

    SUBCASE("IPv4") {
        env_var host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
        env_var port("KUBERNETES_SERVICE_PORT", "443");
        auto r = config::in_cluster(root);
        REQUIRE(r);
        CHECK(r->server == "https://10.96.0.1:443");
        CHECK(r->token_file == root + "/token");
        CHECK(r->token.empty()); // re-read from token_file by the client, never cached here
        CHECK(r->ca_pem == "CA PEM");
        CHECK(r->namespace_ == "operators");
        CHECK(r->origin == "in-cluster service account " + root);
    }
    SUBCASE("IPv6 hosts get brackets") {
        env_var host("KUBERNETES_SERVICE_HOST", "fd00:10:96::1");
        env_var port("KUBERNETES_SERVICE_PORT", "6443");
        auto r = config::in_cluster(root);
        REQUIRE(r);
        CHECK(r->server == "https://[fd00:10:96::1]:6443");
    }
    SUBCASE("environment missing") {
        env_var host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
        env_var port("KUBERNETES_SERVICE_PORT", std::nullopt);
        auto r = config::in_cluster(root);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == config::errc::no_configuration);
    }
    SUBCASE("token and CA must exist, the namespace file may not") {
        env_var host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
        env_var port("KUBERNETES_SERVICE_PORT", "443");
        std::filesystem::remove(root + "/namespace");
        auto no_ns = config::in_cluster(root);
        REQUIRE(no_ns);
        CHECK(no_ns->namespace_.empty());

        std::filesystem::remove(root + "/ca.crt");
        auto no_ca = config::in_cluster(root);
        REQUIRE_FALSE(no_ca);
        CHECK(no_ca.error().code == config::errc::unreadable);
        CHECK(no_ca.error().message == "in-cluster: ca.crt " + root + "/ca.crt: No such file or directory");

        dir.write("sa/token", "\n");
        auto empty = config::in_cluster(root);
        REQUIRE_FALSE(empty);
        CHECK(empty.error().message == "in-cluster: token " + root + "/token is empty");

        std::filesystem::remove(root + "/token");
        auto no_token = config::in_cluster(root);
        REQUIRE_FALSE(no_token);
        CHECK(no_token.error().code == config::errc::unreadable);
        CHECK(no_token.error().message == "in-cluster: token " + root + "/token: No such file or directory");
    }
}
