// The client.authentication.k8s.io ExecCredential exchange with a credential plugin: what we
// tell it (KUBERNETES_EXEC_INFO) and what it prints. Pure functions; running the plugin is the
// client's auth_provider.
#pragma once

#include <kubecoro/config/cluster_config.hpp>
#include <kubecoro/core/result.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace kubecoro::config {

inline constexpr std::string_view exec_api_v1 = "client.authentication.k8s.io/v1";
inline constexpr std::string_view exec_api_v1beta1 = "client.authentication.k8s.io/v1beta1";

struct exec_credential {
    std::string token;                                               // secret, never logged
    std::string client_certificate_data;                             // PEM
    std::string client_key_data;                                     // PEM, secret
    std::optional<std::chrono::system_clock::time_point> expiration; // absent: valid until a 401
};

// Parses a plugin's stdout. Checks kind, that apiVersion is `expected_api_version` (v1 or
// v1beta1), that status is present and carries a token or a certificate/key pair. Errors are
// config::errc::exec_failed and never quote the output (it holds secrets).
core::result<exec_credential> parse_exec_credential(std::string_view json,
                                                    std::string_view expected_api_version);

// RFC 3339 ("2024-05-01T12:00:00Z", "2024-05-01T14:00:00.5+02:00"), as Kubernetes writes times.
core::result<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

// The KUBERNETES_EXEC_INFO value for a non-interactive run; with provide_cluster_info it carries
// the cluster's server, TLS server name, insecure flag and CA (never the user's credentials).
std::string exec_info_json(const exec_config& exec, const cluster_config& cluster);

} // namespace kubecoro::config
