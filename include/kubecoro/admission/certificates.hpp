// The webhook's serving certificate, kept without extra software: read from a Secret (type
// kubernetes.io/tls with tls.crt, tls.key and ca.crt, as cert-manager writes it), or issued here
// (a CA and a certificate it signs) and stored in that Secret so that every replica serves the
// same one. Certificates issued here are renewed when a third of their validity is left; one
// written by someone else is only read. The caBundle of the webhook configurations is kept equal
// to the Secret's ca.crt.
#pragma once

#include <kubecoro/client/client.hpp>
#include <kubecoro/core/asio.hpp>
#include <kubecoro/core/result.hpp>
#include <kubecoro/log/log.hpp>
#include <kubecoro/net/tls.hpp>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace kubecoro::admission {

struct certificate_options {
    std::string namespace_;   // the Secret's, the operator's own
    std::string secret_name;  // "kubecoro-webhook-cert"
    std::string service_name; // names in the certificate: <svc>, <svc>.<ns>, <svc>.<ns>.svc[.cluster.local]
    std::vector<std::string> extra_dns_names{"localhost"};
    std::vector<std::string> extra_ip_addresses{"127.0.0.1"}; // a URL-based configuration (local runs)
    // ValidatingWebhookConfigurations whose caBundle is kept current (those absent are looked for
    // again on the next check). There is no mutating webhook (docs/deployment.md says why).
    std::vector<std::string> validating_configurations;
    std::chrono::seconds validity = std::chrono::hours(24 * 365); // of an issued serving certificate
    std::string field_manager = "kubecoro-webhook";
};

// The annotation on a Secret whose certificates the operator issued (and so renews).
inline constexpr std::string_view issued_by_annotation = "kubecoro.dev/issued-by";

// The time between two checks: a tenth of the validity, at least a second and at most a minute.
std::chrono::milliseconds check_interval(std::chrono::seconds validity);

class certificate_keeper {
public:
    certificate_keeper(std::shared_ptr<client::client> c, certificate_options o, log::logger log);

    // Reads the Secret, or issues a certificate and creates it; then sets the caBundles. Fails when
    // no certificate can be had (the Secret cannot be read or created, or holds an unusable one
    // the operator did not issue).
    awaitable<core::result<void>> start();
    // Checks again every check_interval() until cancelled: a renewal due, a Secret changed by
    // someone else (cert-manager), a caBundle out of date. Failures are logged and retried.
    awaitable<void> run();

    // The context for the next TLS handshake; null before start() succeeded.
    std::shared_ptr<const net::tls_server_context> current() const { return current_; }
    const std::string& serving_certificate() const { return served_cert_; }
    const std::string& ca_bundle() const { return ca_; }

private:
    awaitable<core::result<void>> check();
    awaitable<void> publish_ca_bundle();

    std::shared_ptr<client::client> client_;
    certificate_options opts_;
    log::logger log_;
    std::shared_ptr<const net::tls_server_context> current_;
    std::string served_cert_;
    std::string ca_;
    bool trouble_ = false;             // the last check left something to do
    std::set<std::string> unreadable_; // configuration errors already logged
};

} // namespace kubecoro::admission
