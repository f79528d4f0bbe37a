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

// Timings; the token-file period is client-go's.
struct auth_config {
    std::chrono::milliseconds token_file_refresh{std::chrono::seconds(60)}; // re-read a token file this often
    std::chrono::milliseconds exec_timeout{std::chrono::seconds(30)};       // then the plugin is killed
    std::chrono::milliseconds refresh_before_expiry{std::chrono::seconds(10)}; // re-run a plugin this early
};

struct credentials {
    std::string bearer_token;    // empty: none
    std::string client_cert_pem; // from an exec plugin's clientCertificateData, else empty
    std::string client_key_pem;
};

class auth_provider {
public:
    auth_provider(asio::any_io_executor executor, config::cluster_config config);
    auth_provider(asio::any_io_executor executor, config::cluster_config config, auth_config options);
    // Kills a running plugin. Like every member, call it on the executor's thread.
    ~auth_provider();
    auth_provider(const auth_provider&) = delete;
    auth_provider& operator=(const auth_provider&) = delete;

    // The credentials to use now (cached; refreshed when stale or expired). Precedence: exec
    // plugin, then token file (the static token until the file was read once), then static token.
    // Concurrent callers share one plugin run. Errors: config::errc::exec_failed (plugin failed or
    // printed something unusable), unreadable (token file), core::errc::timeout, cancelled.
    awaitable<core::result<credentials>> current();
    // The server answered 401: the next current() re-reads the token file / re-runs the plugin.
    void invalidate();

private:
    struct state;
    std::shared_ptr<state> state_;
};

} // namespace kubecoro::client
