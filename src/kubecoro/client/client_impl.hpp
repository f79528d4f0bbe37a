// Internal to client: what client and watch_stream share.
#pragma once

#include <kubecoro/client/auth.hpp>
#include <kubecoro/client/client.hpp>
#include <kubecoro/client/rate_limiter.hpp>
#include <kubecoro/http/line_splitter.hpp>
#include <kubecoro/http/response_parser.hpp>
#include <kubecoro/net/address.hpp>
#include <kubecoro/net/connection.hpp>
#include <kubecoro/net/pool.hpp>
#include <kubecoro/net/tls.hpp>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kubecoro::client {

// One entry of an APIResourceList.
struct served_resource {
    std::string name; // plural, or "plural/subresource"
    std::string kind;
    bool namespaced = true;
};

// The head of a response and the body bytes that arrived with it, on a connection still open.
struct open_response {
    std::unique_ptr<net::connection> conn;
    http::response_parser parser;
    std::string body; // decoded body bytes received so far
};

class client_impl {
public:
    client_impl(asio::any_io_executor ex, config::cluster_config c, client_options o, net::server_url u);

    asio::any_io_executor executor;
    config::cluster_config config;
    client_options options;
    net::server_url url;
    std::string pool_key;
    std::shared_ptr<const net::tls_context> tls; // nullptr for http:// servers
    net::connection_pool pool;
    rate_limiter limiter;
    auth_provider auth;
    std::map<std::string, std::vector<served_resource>> discovery; // by "/apis/<group>/<version>"
};

// Every step of one request but the error mapping: limiter, credentials, fields, connection
// reuse with one retry on a stale keep-alive connection, the request timeout, a 401 retried once.
awaitable<core::result<response>> send_request(std::shared_ptr<client_impl> impl, http::request request);

// The same for a watch: a fresh connection, returned once the head of a 200 answer arrived.
awaitable<core::result<open_response>> open_stream(std::shared_ptr<client_impl> impl, http::request request);

// The error for an answer >= 400 (Status body decoded when there is one).
core::error status_error(const http::request& request,
                         int status,
                         const std::vector<http::field>& fields,
                         const std::string& body);

struct watch_stream::state {
    struct shared {
        std::unique_ptr<net::connection> conn;
        http::response_parser parser;
        http::line_splitter lines;
        std::deque<json::watch_event> events;
        std::optional<core::error> failure; // the stream is over with this error
        std::chrono::milliseconds idle_timeout{};
        std::string what;    // "watch /api/v1/pods" for messages
        bool ended = false;  // the server ended the response
        bool closed = false; // close() was called
    };
    // Shared with a pending next(), which must not touch the watch_stream once suspended.
    std::shared_ptr<shared> s;
};

} // namespace kubecoro::client
