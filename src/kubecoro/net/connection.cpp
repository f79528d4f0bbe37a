#include "detail_tls.hpp"
#include <kubecoro/core/errc.hpp>
#include <kubecoro/net/connection.hpp>
#include <kubecoro/net/errc.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <array>
#include <cerrno>
#include <optional>
#include <sys/socket.h>
#include <tuple>
#include <vector>

namespace kubecoro::net {

using tcp = asio::ip::tcp;
using tls_stream = asio::ssl::stream<tcp::socket>;

struct connection::impl {
    endpoint ep;
    std::string where; // "host:port" for messages
    std::optional<tcp::socket> plain;
    std::optional<tls_stream> tls;
    bool closed = false;

    tcp::socket& socket() { return tls ? tls->next_layer() : *plain; }
};

namespace {

using namespace awaitable_operators;

// OpenSSL's reason, plus the certificate verification result when that is what failed.
std::string describe_tls(const std::error_code& ec, SSL* ssl) {
    std::string text = ec.message();
    if (ssl) {
        long verify = ::SSL_get_verify_result(ssl);
        if (verify != X509_V_OK)
            text += ": " + std::string(::X509_verify_cert_error_string(verify));
    }
    ::ERR_clear_error();
    return text;
}

// Makes OpenSSL check the server's name (or IP SAN) so a mismatch is reported as such.
core::result<void> set_verified_name(SSL* ssl, const std::string& name) {
    X509_VERIFY_PARAM* param = ::SSL_get0_param(ssl);
    ::X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    int ok = is_ip_literal(name) ? ::X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
                                 : ::X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
    if (ok != 1) {
        ::ERR_clear_error();
        return core::fail(errc::tls_config, "TLS setup: cannot verify server name \"" + name + "\"");
    }
    // SNI carries DNS names only (RFC 6066).
    if (!is_ip_literal(name) && ::SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) {
        ::ERR_clear_error();
        return core::fail(errc::tls_config, "TLS setup: cannot set SNI \"" + name + "\"");
    }
    return {};
}

awaitable<core::result<std::unique_ptr<connection::impl>>> open(connect_config config) {
    auto ex = co_await asio::this_coro::executor;
    auto i = std::make_unique<connection::impl>();
    i->ep = config.ep;
    i->where = config.ep.to_string();

    std::vector<tcp::endpoint> targets;
    std::error_code ec;
    auto address = asio::ip::make_address(config.ep.host, ec);
    if (!ec) {
        targets.emplace_back(address, config.ep.port);
    } else {
        tcp::resolver resolver(ex);
        auto [rec, results] =
            co_await resolver.async_resolve(config.ep.host, std::to_string(config.ep.port), use_tuple);
        if (rec)
            co_return core::fail(errc::resolve, "resolving " + config.ep.host + " failed: " + rec.message());
        for (const auto& r : results)
            targets.push_back(r.endpoint());
    }

    tcp::socket socket(ex);
    auto [cec, connected] = co_await asio::async_connect(socket, targets, use_tuple);
    (void)connected;
    if (cec)
        co_return core::fail(errc::connect, "connecting to " + i->where + " failed: " + cec.message());
    socket.set_option(tcp::no_delay(true), ec);

    if (!config.tls) {
        i->plain.emplace(std::move(socket));
        co_return std::move(i);
    }
    auto& tls = i->tls.emplace(std::move(socket), config.tls->get().ctx);
    const auto& tc = config.tls->config();
    if (!tc.insecure_skip_verify) {
        auto set =
            set_verified_name(tls.native_handle(), tc.server_name.empty() ? config.ep.host : tc.server_name);
        if (!set)
            co_return core::fail(std::move(set).error());
    } else if (!tc.server_name.empty() && !is_ip_literal(tc.server_name)) {
        ::SSL_set_tlsext_host_name(tls.native_handle(), tc.server_name.c_str());
    }
    auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::client, use_tuple);
    if (hec)
        co_return core::fail(errc::tls_handshake,
                             "TLS handshake with " + i->where +
                                 " failed: " + describe_tls(hec, tls.native_handle()));
    co_return std::move(i);
}

} // namespace

connection::connection(std::unique_ptr<impl> i)
    : impl_(std::move(i)) {}

connection::~connection() {
    close();
}

awaitable<core::result<std::unique_ptr<connection>>> connection::connect(connect_config config) {
    auto where = config.ep.to_string();
    auto timeout = config.timeout;
    auto outcome = co_await (open(std::move(config)) || sleep_for(timeout));
    if (outcome.index() == 1) {
        if (!std::get<1>(outcome))
            co_return core::fail(core::errc::cancelled, "connecting to " + where + " cancelled");
        co_return core::fail(core::errc::timeout,
                             "connecting to " + where + " timed out after " +
                                 std::to_string(timeout.count()) + "ms");
    }
    auto opened = std::move(std::get<0>(outcome));
    if (!opened)
        co_return core::fail(std::move(opened).error());
    co_return std::unique_ptr<connection>(new connection(std::move(*opened)));
}

awaitable<core::result<std::size_t>> connection::read_some(std::span<char> buffer) {
    if (impl_->closed)
        co_return core::fail(core::errc::cancelled, "connection to " + impl_->where + " closed");
    // (No co_await inside ?: — g++ 12 destroys its result too early.)
    std::error_code ec;
    std::size_t n = 0;
    auto into = asio::buffer(buffer.data(), buffer.size());
    if (impl_->tls)
        std::tie(ec, n) = co_await impl_->tls->async_read_some(into, use_tuple);
    else
        std::tie(ec, n) = co_await impl_->plain->async_read_some(into, use_tuple);
    if (!ec)
        co_return n;
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
        co_return std::size_t{0};
    if (ec == asio::error::operation_aborted || impl_->closed)
        co_return core::fail(core::errc::cancelled, "reading from " + impl_->where + " cancelled");
    co_return core::fail(errc::read,
                         "reading from " + impl_->where +
                             " failed: " + (impl_->tls ? describe_tls(ec, nullptr) : ec.message()));
}

awaitable<core::result<void>> connection::write(std::string_view data) {
    if (impl_->closed)
        co_return core::fail(core::errc::cancelled, "connection to " + impl_->where + " closed");
    std::error_code ec;
    if (impl_->tls)
        std::tie(ec, std::ignore) = co_await asio::async_write(*impl_->tls, asio::buffer(data), use_tuple);
    else
        std::tie(ec, std::ignore) = co_await asio::async_write(*impl_->plain, asio::buffer(data), use_tuple);
    if (!ec)
        co_return core::result<void>{};
    if (ec == asio::error::operation_aborted || impl_->closed)
        co_return core::fail(core::errc::cancelled, "writing to " + impl_->where + " cancelled");
    std::string reason = impl_->tls ? describe_tls(ec, nullptr) : ec.message();
    if (impl_->tls && ec == asio::error::broken_pipe) {
        // A TLS 1.3 server that rejects our client certificate says why in an alert it sent
        // before closing: read it (the peer is gone, so this does not wait).
        std::array<char, 256> sink;
        auto [rec, n] = co_await impl_->tls->async_read_some(asio::buffer(sink), use_tuple);
        (void)n;
        if (rec && rec.category() == asio::error::get_ssl_category())
            reason += " (server: " + describe_tls(rec, nullptr) + ")";
    }
    co_return core::fail(errc::write, "writing to " + impl_->where + " failed: " + reason);
}

void connection::close() noexcept {
    if (!impl_ || impl_->closed)
        return;
    impl_->closed = true;
    std::error_code ec;
    impl_->socket().close(ec);
}

bool connection::is_open() const noexcept {
    return !impl_->closed;
}

bool connection::usable_when_idle() noexcept {
    if (impl_->closed)
        return false;
    if (impl_->tls && ::SSL_pending(impl_->tls->native_handle()) > 0)
        return false;
    char byte;
    auto n = ::recv(impl_->socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    // Nothing to read is the only healthy state: 0 is the peer's FIN, > 0 an alert or stray bytes.
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

const endpoint& connection::remote() const noexcept {
    return impl_->ep;
}

} // namespace kubecoro::net
