// TLS settings for client connections, validated once into a shareable context.
#pragma once

#include <kubecoro/core/result.hpp>

#include <memory>
#include <string>

namespace kubecoro::net {

struct tls_config {
    std::string ca_pem; // trusted CA certificates; empty: the system roots
    bool insecure_skip_verify = false;
    std::string server_name;     // name to verify and send as SNI; empty: the connection's host
    std::string client_cert_pem; // client certificate (chain); empty: none
    std::string client_key_pem;  // its key — secret, never logged
};

// An OpenSSL context built from a tls_config: CA store, client certificate, verification mode.
// Immutable once created; every connection to the server shares one.
class tls_context {
public:
    // Fails with errc::tls_config naming the part OpenSSL rejected (never its contents).
    static core::result<std::shared_ptr<const tls_context>> create(tls_config config);
    ~tls_context();

    const tls_config& config() const noexcept;

    struct impl;
    impl& get() const noexcept { return *impl_; }

private:
    explicit tls_context(std::unique_ptr<impl> i);
    std::unique_ptr<impl> impl_;
};

} // namespace kubecoro::net
