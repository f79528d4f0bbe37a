// Internal to net: the OpenSSL contexts behind net::tls_context and net::tls_server_context.
#pragma once

#include <kubecoro/net/tls.hpp>

#include <asio/ssl.hpp>

namespace kubecoro::net {

struct tls_context::impl {
    tls_config config;
    // Streams take a non-const context; its settings are not changed after create().
    mutable asio::ssl::context ctx{asio::ssl::context::tls_client};
};

struct tls_server_context::impl {
    mutable asio::ssl::context ctx{asio::ssl::context::tls_server};
};

} // namespace kubecoro::net
