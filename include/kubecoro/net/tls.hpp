// TLS settings for client connections and for our own servers, validated once into shareable
// contexts.
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

// A server's certificate (chain) and key, e.g. the admission webhook's. Immutable once created:
// a rotated certificate is a new context, and connections accepted after it use the new one.
class tls_server_context {
public:
    // Fails with errc::tls_config naming the part OpenSSL rejected (never its contents).
    static core::result<std::shared_ptr<const tls_server_context>> create(const std::string& cert_pem,
                                                                          const std::string& key_pem);
    ~tls_server_context();

    struct impl;
    impl& get() const noexcept { return *impl_; }

private:
    explicit tls_server_context(std::unique_ptr<impl> i);
    std::unique_ptr<impl> impl_;
};

} // namespace kubecoro::net
