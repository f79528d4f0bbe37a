#include "detail_tls.hpp"
#include <kubecoro/net/errc.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace kubecoro::net {
namespace {

core::failure setup_failed(std::string_view what, const std::error_code& ec) {
    ::ERR_clear_error();
    return core::fail(errc::tls_config, "TLS setup: " + std::string(what) + ": " + ec.message());
}

} // namespace

tls_context::tls_context(std::unique_ptr<impl> i)
    : impl_(std::move(i)) {}
tls_context::~tls_context() = default;

const tls_config& tls_context::config() const noexcept {
    return impl_->config;
}

core::result<std::shared_ptr<const tls_context>> tls_context::create(tls_config config) {
    auto i = std::make_unique<impl>();
    auto& ctx = i->ctx;
    std::error_code ec;
    ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                        asio::ssl::context::no_tlsv1_1,
                    ec);
    if (ec)
        return setup_failed("options", ec);

    if (config.insecure_skip_verify) {
        ctx.set_verify_mode(asio::ssl::verify_none, ec);
    } else {
        ctx.set_verify_mode(asio::ssl::verify_peer, ec);
        if (!ec) {
            if (config.ca_pem.empty())
                ctx.set_default_verify_paths(ec);
            else
                ctx.add_certificate_authority(asio::buffer(config.ca_pem), ec);
        }
    }
    if (ec)
        return setup_failed("certificate authority", ec);

    if (config.client_cert_pem.empty() != config.client_key_pem.empty())
        return core::fail(errc::tls_config, "TLS setup: a client certificate needs both certificate and key");
    if (!config.client_cert_pem.empty()) {
        ctx.use_certificate_chain(asio::buffer(config.client_cert_pem), ec);
        if (ec)
            return setup_failed("client certificate", ec);
        ctx.use_private_key(asio::buffer(config.client_key_pem), asio::ssl::context::pem, ec);
        if (ec)
            return setup_failed("client key", ec);
        if (::SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
            ::ERR_clear_error();
            return core::fail(errc::tls_config,
                              "TLS setup: the client key does not match the client certificate");
        }
    }
    i->config = std::move(config);
    return std::shared_ptr<const tls_context>(new tls_context(std::move(i)));
}

tls_server_context::tls_server_context(std::unique_ptr<impl> i)
    : impl_(std::move(i)) {}
tls_server_context::~tls_server_context() = default;

core::result<std::shared_ptr<const tls_server_context>>
tls_server_context::create(const std::string& cert_pem, const std::string& key_pem) {
    auto i = std::make_unique<impl>();
    auto& ctx = i->ctx;
    std::error_code ec;
    ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                        asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                    ec);
    if (ec)
        return setup_failed("options", ec);
    ctx.use_certificate_chain(asio::buffer(cert_pem), ec);
    if (ec)
        return setup_failed("server certificate", ec);
    ctx.use_private_key(asio::buffer(key_pem), asio::ssl::context::pem, ec);
    if (ec)
        return setup_failed("server key", ec);
    if (::SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
        ::ERR_clear_error();
        return core::fail(errc::tls_config, "TLS setup: the server key does not match its certificate");
    }
    return std::shared_ptr<const tls_server_context>(new tls_server_context(std::move(i)));
}

} // namespace kubecoro::net
