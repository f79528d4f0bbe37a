// The operator's command line: flags named as Kubernetes operators conventionally name them.
#pragma once

#include <kubecoro/core/result.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace kubecoro::manager {

enum class log_encoding { automatic, json, text };

struct options {
    std::string kubeconfig;
    std::string context;
    std::vector<std::string> namespaces; // empty: all namespaces
    double kube_api_qps = 50;
    int kube_api_burst = 100;
    std::string log_level = "info";
    log_encoding log_format = log_encoding::automatic;
    std::string health_probe_bind_address = ":8081";
    std::string metrics_bind_address = ":8080";
    bool leader_elect = false;
    std::string leader_election_namespace; // empty: the operator's own namespace
    std::string leader_election_id = "kubecoro-leader";
    int max_concurrent_reconciles = 4;
    std::chrono::milliseconds resync_period = std::chrono::minutes(10);
    std::chrono::milliseconds shutdown_timeout = std::chrono::seconds(30);
    // A watch that receives no byte this long is taken for dead and reopened (0: the default).
    std::chrono::milliseconds watch_idle_timeout = std::chrono::seconds(70);
    std::vector<std::string> controllers; // empty: every registered controller
    // The admission webhook (HTTPS). "auto": :9443 when running in a cluster, off otherwise.
    std::string webhook_bind_address = "auto";
    std::string webhook_secret = "kubecoro-webhook-cert"; // in the operator's namespace
    std::string webhook_service = "kubecoro-webhook";     // names in the serving certificate
    std::string webhook_configuration = "kubecoro";       // its caBundle is kept current; "" none
    std::chrono::milliseconds webhook_cert_validity = std::chrono::hours(24 * 365); // issued certificates
};

enum class command { run, help, version, manifests };

struct manifests_options {
    std::string image = "kubecoro:0.1.0"; // manifests.hpp: default_manifests_image
    std::string namespace_ = "kubecoro-system";
};

struct invocation {
    command cmd = command::run;
    options run;
    manifests_options manifests;
};

// Parses argv (without argv[0]). Errors name the flag and what was wrong. A run flag may also come
// from the environment, KUBECORO_<FLAG> (KUBECORO_KUBE_API_QPS for --kube-api-qps), and
// --namespace from WATCH_NAMESPACE too; the command line wins.
using environment = std::function<std::optional<std::string>(const std::string& name)>;
core::result<invocation> parse_command_line(const std::vector<std::string>& args);
core::result<invocation> parse_command_line(const std::vector<std::string>& args, const environment& env);

// Go-style durations: "500ms", "30s", "10m", "1h30m".
core::result<std::chrono::milliseconds> parse_duration(const std::string& text);

std::string usage();

} // namespace kubecoro::manager
