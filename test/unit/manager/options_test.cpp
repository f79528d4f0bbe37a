#include <kubecoro/core/errc.hpp>
#include <kubecoro/manager/options.hpp>
#include <kubecoro/manager/registry.hpp>

#include <doctest/doctest.h>

using namespace kubecoro;
using namespace std::chrono_literals;

namespace {
awaitable<core::result<std::shared_ptr<runtime::controller>>> none(manager::controller_env) {
    co_return core::fail(core::errc::invalid_argument, "not built in this test");
}
const bool registered =
    manager::register_controller("database", none) && manager::register_controller("helloworld", none);
} // namespace

TEST_CASE("defaults") {
    auto inv = manager::parse_command_line({});
    REQUIRE(inv);
    CHECK(inv->cmd == manager::command::run);
    CHECK(inv->run.health_probe_bind_address == ":8081");
    CHECK(inv->run.metrics_bind_address == ":8080");
    CHECK(inv->run.max_concurrent_reconciles == 4);
    CHECK(inv->run.resync_period == 10min);
    CHECK(inv->run.controllers.empty()); // every registered one
    CHECK_FALSE(inv->run.leader_elect);
}

TEST_CASE("flags in both spellings") {
    auto inv = manager::parse_command_line({"--kubeconfig",
                                            "/tmp/k",
                                            "--context=dev",
                                            "--namespace=a,b",
                                            "--kube-api-qps=0",
                                            "--kube-api-burst",
                                            "7",
                                            "--leader-elect",
                                            "--resync-period=1h30m",
                                            "--watch-idle-timeout=5s",
                                            "--controllers=helloworld",
                                            "--log-format=text"});
    REQUIRE(inv);
    CHECK(inv->run.kubeconfig == "/tmp/k");
    CHECK(inv->run.context == "dev");
    CHECK(inv->run.namespaces == std::vector<std::string>{"a", "b"});
    CHECK(inv->run.kube_api_qps == 0);
    CHECK(inv->run.kube_api_burst == 7);
    CHECK(inv->run.leader_elect);
    CHECK(inv->run.resync_period == 90min);
    CHECK(inv->run.watch_idle_timeout == 5s);
    CHECK(inv->run.controllers == std::vector<std::string>{"helloworld"});
    CHECK(inv->run.log_format == manager::log_encoding::text);
}

TEST_CASE("errors name the flag") {
    auto bad = manager::parse_command_line({"--kube-api-qps=fast"});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("--kube-api-qps") != std::string::npos);
    auto unknown = manager::parse_command_line({"--frobnicate"});
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().message.find("unknown flag --frobnicate") != std::string::npos);
    auto missing = manager::parse_command_line({"--context"});
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message.find("needs a value") != std::string::npos);
    CHECK_FALSE(manager::parse_command_line({"--controllers=db"}));
    CHECK_FALSE(manager::parse_command_line({"--max-concurrent-reconciles=0"}));
    CHECK_FALSE(manager::parse_command_line({"--leader-elect=maybe"}));
}

TEST_CASE("subcommands") {
    CHECK(manager::parse_command_line({"version"})->cmd == manager::command::version);
    CHECK(manager::parse_command_line({"--help"})->cmd == manager::command::help);
    auto m = manager::parse_command_line({"manifests", "--image", "reg/kubecoro:1", "--namespace=ops"});
    REQUIRE(m);
    CHECK(m->cmd == manager::command::manifests);
    CHECK(m->manifests.image == "reg/kubecoro:1");
    CHECK(m->manifests.namespace_ == "ops");
}

TEST_CASE("durations") {
    CHECK(*manager::parse_duration("500ms") == 500ms);
    CHECK(*manager::parse_duration("2s") == 2000ms);
    CHECK(*manager::parse_duration("1.5s") == 1500ms);
    CHECK(*manager::parse_duration("0") == 0ms);
    CHECK_FALSE(manager::parse_duration("10"));
    CHECK_FALSE(manager::parse_duration("5d"));
    CHECK_FALSE(manager::parse_duration(""));
}

TEST_CASE("webhook flags: on by default only in a cluster; validity at least 10s") {
    auto defaults = manager::parse_command_line({});
    REQUIRE(defaults);
    CHECK(defaults->run.webhook_bind_address == "auto");
    CHECK(defaults->run.webhook_secret == "kubecoro-webhook-cert");
    CHECK(defaults->run.webhook_service == "kubecoro-webhook");
    CHECK(defaults->run.webhook_configuration == "kubecoro");
    CHECK(defaults->run.webhook_cert_validity == std::chrono::hours(8760));
    auto set = manager::parse_command_line({"--webhook-bind-address=127.0.0.1:9443",
                                            "--webhook-secret=s",
                                            "--webhook-service=svc",
                                            "--webhook-configuration=",
                                            "--webhook-cert-validity=720h"});
    REQUIRE(set);
    CHECK(set->run.webhook_bind_address == "127.0.0.1:9443");
    CHECK(set->run.webhook_secret == "s");
    CHECK(set->run.webhook_service == "svc");
    CHECK(set->run.webhook_configuration.empty());
    CHECK(set->run.webhook_cert_validity == 720h);
    auto short_lived = manager::parse_command_line({"--webhook-cert-validity=5s"});
    REQUIRE_FALSE(short_lived);
    CHECK(short_lived.error().message.find("--webhook-cert-validity") != std::string::npos);
    CHECK_FALSE(manager::parse_command_line({"--webhook-cert-validity=soon"}));
}
