#include <kubecoro/core/errc.hpp>
#include <kubecoro/manager/options.hpp>
#include <kubecoro/manager/registry.hpp>

#include <doctest/doctest.h>

#include <map>
#include <optional>

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
    CHECK(*manager::parse_duration("1h30m") == 90min);
    CHECK(*manager::parse_duration("2562047h") == std::chrono::hours(2562047));
    // Once accepted by mistake: a second dot, a bare dot, a value beyond Go's int64 nanoseconds.
    auto dots = manager::parse_duration("1.5.5s");
    REQUIRE_FALSE(dots);
    CHECK(dots.error().message.find("invalid duration \"1.5.5s\"") != std::string::npos);
    CHECK_FALSE(manager::parse_duration(".s"));
    auto huge = manager::parse_duration("99999999999999999999h");
    REQUIRE_FALSE(huge);
    CHECK(huge.error().message.find("too long") != std::string::npos);
    CHECK_FALSE(manager::parse_duration("2562048h"));
    auto flag = manager::parse_command_line({"--resync-period", "99999999999999999999h"});
    REQUIRE_FALSE(flag);
    CHECK(flag.error().message.find("--resync-period") != std::string::npos);
    CHECK_FALSE(manager::parse_command_line({"--shutdown-timeout=1.5.5s"}));
}

TEST_CASE("--namespace: a list of namespace names; empty means all, a list of nothing is an error") {
    CHECK(manager::parse_command_line({"--namespace=a,b"})->run.namespaces ==
          std::vector<std::string>{"a", "b"});
    CHECK(manager::parse_command_line({"--namespace="})->run.namespaces.empty());
    for (std::string bad : {",", ",,", " ,"}) {
        auto r = manager::parse_command_line({"--namespace", bad});
        REQUIRE_FALSE_MESSAGE(r, bad);
        CHECK(r.error().message.find("--namespace") != std::string::npos);
    }
    auto upper = manager::parse_command_line({"--namespace=Team-A"});
    REQUIRE_FALSE(upper);
    CHECK(upper.error().message.find("\"Team-A\" is not a namespace name") != std::string::npos);
}

TEST_CASE("flags from the environment: KUBECORO_<FLAG> and WATCH_NAMESPACE; the command line wins") {
    std::map<std::string, std::string> vars;
    manager::environment env = [&vars](const std::string& name) -> std::optional<std::string> {
        auto it = vars.find(name);
        return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    vars = {{"KUBECORO_KUBE_API_QPS", "20"},
            {"KUBECORO_LEADER_ELECT", "true"},
            {"KUBECORO_RESYNC_PERIOD", "30m"},
            {"WATCH_NAMESPACE", "a,b"}};
    auto inv = manager::parse_command_line({}, env);
    REQUIRE(inv);
    CHECK(inv->run.kube_api_qps == 20);
    CHECK(inv->run.leader_elect);
    CHECK(inv->run.resync_period == 30min);
    CHECK(inv->run.namespaces == std::vector<std::string>{"a", "b"});
    // The command line wins; KUBECORO_NAMESPACE wins over WATCH_NAMESPACE.
    vars.emplace("KUBECORO_NAMESPACE", "c"); // (not operator[]= : a false -Wrestrict in g++ 12 -O3)
    inv = manager::parse_command_line({"--kube-api-qps=5"}, env);
    REQUIRE(inv);
    CHECK(inv->run.kube_api_qps == 5);
    CHECK(inv->run.namespaces == std::vector<std::string>{"c"});
    // Operator SDK's empty WATCH_NAMESPACE: all namespaces.
    vars = {{"WATCH_NAMESPACE", ""}};
    CHECK(manager::parse_command_line({}, env)->run.namespaces.empty());
    // A bad value names the variable.
    vars = {{"KUBECORO_KUBE_API_QPS", "fast"}};
    auto bad = manager::parse_command_line({}, env);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("$KUBECORO_KUBE_API_QPS") != std::string::npos);
    // Not for the manifests command, and no variable for --version.
    vars = {{"KUBECORO_VERSION", "true"}, {"KUBECORO_NAMESPACE", ","}};
    CHECK(manager::parse_command_line({"manifests"}, env)->cmd == manager::command::manifests);
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
