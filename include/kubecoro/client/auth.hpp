// Bearer credentials for requests: a static token, a token file re-read at least every minute,
// or an exec credential plugin re-run when its token expires. Runs plugins without blocking the
// io_context.
#pragma once

#include <kubecoro/config/cluster_config.hpp>
#include <kubecoro/core/asio.hpp>
#include <kubecoro/core/result.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace kubecoro::client {

struct credentials {
    std::string bearer_token;    // empty: none
    std::string client_cert_pem; // from an exec plugin's clientCertificateData, else empty
    std::string client_key_pem;
};

class auth_provider {
public:
    auth_provider(asio::any_io_executor executor, config::cluster_config config);
    ~auth_provider();

    // The credentials to use now (cached; refreshed when stale or expired).
    awaitable<core::result<credentials>> current();
    // The server answered 401: the next current() re-reads the token file / re-runs the plugin.
    void invalidate();

private:
    struct state;
    std::shared_ptr<state> state_;
};

} // namespace kubecoro::client
