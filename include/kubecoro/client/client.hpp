// The asynchronous Kubernetes API client: one per API server, shared by every task on the
// io_context. Requests are rate limited, authenticated, sent over pooled keep-alive connections,
// and their failures come back as core::error values (api::errc for answers from the server).
#pragma once

#include <kubecoro/api/options.hpp>
#include <kubecoro/api/resource.hpp>
#include <kubecoro/config/cluster_config.hpp>
#include <kubecoro/core/asio.hpp>
#include <kubecoro/core/result.hpp>
#include <kubecoro/http/message.hpp>
#include <kubecoro/json/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kubecoro::client {

using namespace std::chrono_literals;

struct response {
    int status = 0;
    std::vector<http::field> fields;
    std::string body;
};

struct client_options {
    double qps = 50;                                 // --kube-api-qps; 0 turns rate limiting off
    int burst = 100;                                 // --kube-api-burst
    std::chrono::milliseconds request_timeout = 30s; // per request (not for watches)
    std::chrono::milliseconds connect_timeout = 10s;
    std::chrono::milliseconds watch_idle_timeout = 70s; // a watch with no bytes this long is dead
    std::size_t max_idle_connections = 16;
    std::string user_agent = "kubecoro";
    // When set, a request other than GET and HEAD is sent only while it returns true; otherwise it
    // fails with core::errc::fenced without reaching the server (leader election: no write from a
    // process that may no longer lead).
    std::function<bool()> write_gate;
    // Called once per completed request (code 0: no HTTP answer), e.g. for rest_client_requests_total.
    std::function<void(std::string_view method, int code)> on_request;
    // When set, requests are answered here instead of over the network (no rate limit, no
    // credentials, no connection): an API server in the same process, for tests
    // (testing::fake_cluster). Watches are not sent through it.
    std::function<awaitable<core::result<response>>(http::request)> transport;
};

class watch_stream;
class client_impl;

class client {
public:
    // Validates the configuration (URL, TLS material) without any network I/O.
    static core::result<std::shared_ptr<client>>
    create(asio::any_io_executor executor, config::cluster_config config, client_options options = {});
    ~client();

    // Sends one request (Host, Authorization, User-Agent and Accept are added). Answers >= 400
    // become errors decoded from the Status body. A 401 refreshes credentials and retries once.
    awaitable<core::result<response>> send(http::request request);

    awaitable<core::result<json::value>> get(api::resource r, std::string ns, std::string name);
    // One page (follow continue_token for more) — see list_all for every page. With `reduce`, each
    // item goes through it as soon as it is decoded (json::decode_list).
    awaitable<core::result<json::object_list>> list(api::resource r,
                                                    std::string ns,
                                                    api::list_options o,
                                                    std::function<json::value(json::value)> reduce = {});
    awaitable<core::result<json::object_list>> list_all(api::resource r, std::string ns, api::list_options o);
    awaitable<core::result<watch_stream>> watch(api::resource r, std::string ns, api::watch_options o);
    awaitable<core::result<json::value>> create(api::resource r, std::string ns, json::value object);
    awaitable<core::result<json::value>>
    replace(api::resource r, std::string ns, std::string name, json::value object);
    awaitable<core::result<json::value>> patch(api::resource r,
                                               std::string ns,
                                               std::string name,
                                               api::patch_type type,
                                               std::string body,
                                               api::patch_options o);
    // Server-side apply of `object` (name and namespace taken from its metadata).
    awaitable<core::result<json::value>> apply(api::resource r, json::value object, api::patch_options o);
    awaitable<core::result<void>>
    remove(api::resource r, std::string ns, std::string name, api::delete_options o);

    // The first of `versions` that the server serves for group/plural, cached after the first
    // answer ("" group: core). Fails with api::errc::not_found when none is served.
    awaitable<core::result<api::resource>>
    discover(std::string group, std::vector<std::string> versions, std::string plural);

    const config::cluster_config& config() const;
    const client_options& options() const;

private:
    explicit client(std::shared_ptr<client_impl> impl);
    std::shared_ptr<client_impl> impl_;
    friend class watch_stream;
};

// An open watch: one event per line of a chunked response. Closing (or destroying) it closes the
// connection at once.
class watch_stream {
public:
    watch_stream(watch_stream&&) noexcept;
    watch_stream& operator=(watch_stream&&) noexcept;
    ~watch_stream();

    // The next event; std::nullopt when the server ended the stream cleanly (timeoutSeconds).
    // Fails on a broken connection, on watch_idle_timeout without bytes, on garbage, and on an
    // ERROR event (410 Expired becomes api::errc::gone).
    awaitable<core::result<std::optional<json::watch_event>>> next();
    void close();

    struct state;
    explicit watch_stream(std::unique_ptr<state> s);

private:
    std::unique_ptr<state> state_;
};

// True for failures worth retrying with backoff: connection failures, timeouts, 429, 5xx, 409
// conflicts. False for 400, 401/403 (after the refresh), 404, 422 and decode errors.
bool is_retryable(const core::error& e);

} // namespace kubecoro::client
