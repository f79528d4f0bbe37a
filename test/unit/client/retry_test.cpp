#include <kubecoro/api/errc.hpp>
#include <kubecoro/client/client.hpp>
#include <kubecoro/config/errc.hpp>
#include <kubecoro/core/errc.hpp>
#include <kubecoro/http/errc.hpp>
#include <kubecoro/json/errc.hpp>
#include <kubecoro/net/errc.hpp>

#include <doctest/doctest.h>

using namespace kubecoro;

namespace {
core::error err(std::error_code code, int http_status = 0) {
    return core::error{code, "x", http_status};
}
} // namespace

TEST_CASE("is_retryable: transient failures") {
    CHECK(client::is_retryable(err(core::errc::timeout)));
    CHECK(client::is_retryable(err(net::errc::connect)));
    CHECK(client::is_retryable(err(net::errc::closed)));
    CHECK(client::is_retryable(err(net::errc::tls_handshake)));
    CHECK(client::is_retryable(err(http::errc::unexpected_eof)));
    CHECK(client::is_retryable(err(api::errc::too_many_requests, 429)));
    CHECK(client::is_retryable(err(api::errc::server_error, 500)));
    CHECK(client::is_retryable(err(api::errc::service_unavailable, 503)));
    CHECK(client::is_retryable(err(api::errc::server_timeout, 504)));
    CHECK(client::is_retryable(err(api::errc::conflict, 409)));
    CHECK(client::is_retryable(err(api::errc::unexpected_status, 502)));
    CHECK(client::is_retryable(err(std::make_error_code(std::errc::connection_reset))));
    CHECK(client::is_retryable(err(config::errc::exec_failed)));
}

TEST_CASE("is_retryable: failures that retrying cannot fix") {
    CHECK_FALSE(client::is_retryable(err(api::errc::bad_request, 400)));
    CHECK_FALSE(client::is_retryable(err(api::errc::unauthorized, 401)));
    CHECK_FALSE(client::is_retryable(err(api::errc::forbidden, 403)));
    CHECK_FALSE(client::is_retryable(err(api::errc::not_found, 404)));
    CHECK_FALSE(client::is_retryable(err(api::errc::already_exists, 409)));
    CHECK_FALSE(client::is_retryable(err(api::errc::gone, 410)));
    CHECK_FALSE(client::is_retryable(err(api::errc::invalid, 422)));
    CHECK_FALSE(client::is_retryable(err(api::errc::decode)));
    CHECK_FALSE(client::is_retryable(err(api::errc::unexpected_status, 418)));
    CHECK_FALSE(client::is_retryable(err(json::errc::syntax)));
    CHECK_FALSE(client::is_retryable(err(core::errc::cancelled)));
    CHECK_FALSE(client::is_retryable(err(core::errc::invalid_argument)));
    CHECK_FALSE(client::is_retryable(err(net::errc::tls_config)));
    CHECK_FALSE(client::is_retryable(err(config::errc::malformed)));
}
