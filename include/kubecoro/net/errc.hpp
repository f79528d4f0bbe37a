// Failures of the transport: reaching the server, TLS, and the connection breaking.
#pragma once

#include <system_error>

namespace kubecoro::net {

enum class errc {
    bad_address = 1, // a URL or listen address that does not parse
    tls_config,      // CA, certificate or key material that OpenSSL rejects
    resolve,         // the host name did not resolve
    connect,         // no TCP connection (refused, unreachable)
    tls_handshake,   // the TLS handshake failed (verification, protocol, client certificate)
    read,            // reading from an established connection failed
    write,           // writing to an established connection failed
    closed,          // the peer closed the connection
    listen,          // the server could not bind or listen
};

const std::error_category& category() noexcept;
std::error_code make_error_code(errc e) noexcept;

} // namespace kubecoro::net

template <>
struct std::is_error_code_enum<kubecoro::net::errc> : std::true_type {};
