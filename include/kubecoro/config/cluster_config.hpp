// How to reach and authenticate to one API server: the result of reading a kubeconfig or the
// in-cluster service-account layout. No I/O beyond reading the named files at load time.
#pragma once

#include <kubecoro/core/result.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kubecoro::config {

struct exec_config {
    std::string api_version; // client.authentication.k8s.io/v1 or v1beta1
    std::string command;
    std::vector<std::string> args;
    std::vector<std::pair<std::string, std::string>> env;
    std::string install_hint;
    bool provide_cluster_info = false;
};

struct cluster_config {
    std::string server; // "https://127.0.0.1:6443" (scheme, host, port; any path prefix kept)
    std::string ca_pem; // certificate-authority(-data) contents; empty: system roots
    bool insecure_skip_tls_verify = false;
    std::string tls_server_name;
    std::string client_cert_pem; // client-certificate(-data)
    std::string client_key_pem;  // client-key(-data) — secret, never logged
    std::string token;           // static bearer token — secret, never logged
    std::string token_file;      // bearer token re-read from this file (tokenFile, in-cluster)
    std::optional<exec_config> exec;
    std::string namespace_; // the context's namespace, or the in-cluster namespace file; may be empty
    std::string origin; // where this came from, for messages: "kubeconfig /root/.kube/config, context kind"
    bool in_cluster = false; // from the pod's service account (in_cluster())
};

struct load_options {
    std::string kubeconfig; // --kubeconfig; empty: $KUBECONFIG (several files, ':'-separated), then
                            // in-cluster when KUBERNETES_SERVICE_HOST is set, then ~/.kube/config
    std::string context;    // --context; empty: current-context
};

// Reads the configuration the way kubectl does. Errors name the file and field at fault.
core::result<cluster_config> load(const load_options& options);

// Parses kubeconfig YAML documents (already read), merged in order like $KUBECONFIG: the first
// file to set a map key wins; current-context from the first that sets it. `paths` name the
// documents for messages and resolve relative file references.
core::result<cluster_config>
from_kubeconfig(const std::vector<std::pair<std::string, std::string>>& path_and_text,
                const std::string& context);

// In-cluster: KUBERNETES_SERVICE_HOST/PORT and the service-account files under `root`
// (default /var/run/secrets/kubernetes.io/serviceaccount).
core::result<cluster_config>
in_cluster(const std::string& root = "/var/run/secrets/kubernetes.io/serviceaccount");

} // namespace kubecoro::config
