// One TCP or TLS connection to a server, with awaitable operations that return errors as values.
#pragma once

#include <kubecoro/core/asio.hpp>
#include <kubecoro/core/result.hpp>
#include <kubecoro/net/address.hpp>
#include <kubecoro/net/tls.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace kubecoro::net {

struct connect_config {
    endpoint ep;
    std::shared_ptr<const tls_context> tls;    // nullptr: plain TCP
    std::chrono::milliseconds timeout{10'000}; // resolve + connect + TLS handshake
};

class connection {
public:
    // Resolves (not for IP literals), connects and, with TLS, handshakes and verifies the server,
    // all within config.timeout. Errors name host:port and the cause (OpenSSL's reason for TLS):
    // errc::resolve, errc::connect, errc::tls_handshake, core::errc::timeout.
    static awaitable<core::result<std::unique_ptr<connection>>> connect(connect_config config);

    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    // Some bytes into `buffer`; 0 when the peer ended the connection. After close(), or when the
    // operation is cancelled, fails with core::errc::cancelled; otherwise errc::read.
    awaitable<core::result<std::size_t>> read_some(std::span<char> buffer);
    // All of `data` (which must stay valid until this completes). Fails with errc::write or
    // core::errc::cancelled.
    awaitable<core::result<void>> write(std::string_view data);

    // Closes the socket at once (no TLS close_notify); pending operations complete with
    // core::errc::cancelled. Safe to call more than once.
    void close() noexcept;
    bool is_open() const noexcept;

    // For idle pooled connections, checked without blocking: false when the peer has closed the
    // connection or sent bytes nobody asked for.
    bool usable_when_idle() noexcept;

    const endpoint& remote() const noexcept;

    struct impl;

private:
    explicit connection(std::unique_ptr<impl> i);
    std::unique_ptr<impl> impl_;
};

} // namespace kubecoro::net
