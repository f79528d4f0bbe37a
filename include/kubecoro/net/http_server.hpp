// The small HTTP server for /healthz, /readyz and /metrics, and (over TLS) the admission webhook.
// Accepts on the io_context; each connection is served by its own coroutine with a read timeout.
#pragma once

#include <kubecoro/core/asio.hpp>
#include <kubecoro/core/result.hpp>
#include <kubecoro/http/message.hpp>
#include <kubecoro/net/address.hpp>
#include <kubecoro/net/tls.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace kubecoro::net {

struct http_reply {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    std::vector<http::field> fields; // more fields; Content-Length and Connection are added
};

struct http_server_config {
    std::string address = ":8081";                  // see parse_listen_address; "0" or "" disables the server
    std::chrono::milliseconds read_timeout{10'000}; // per read: an idle or slow client is dropped
    // A kept-alive connection waiting for its next request (0: read_timeout). Longer than the
    // client's own idle timeout, so that the client closes first and never sends on a connection
    // we are closing.
    std::chrono::milliseconds idle_timeout{0};
    std::chrono::milliseconds request_timeout{0}; // head and body from the first byte (0: none)
    std::size_t max_connections = 32;             // beyond this, new connections are closed at once
    bool keep_alive = true;
    std::size_t max_body_bytes = 0; // a larger request body is answered 400
    // When set, connections are TLS: each handshake uses the context this returns at that moment
    // (so a rotated certificate serves every connection accepted after it); nullptr refuses the
    // connection.
    std::function<std::shared_ptr<const tls_server_context>()> tls;
};

// Handlers run on the io_context's thread and must not block. An exception becomes a 500.
using async_handler = std::function<awaitable<http_reply>(const http::request&)>;
using sync_handler = std::function<http_reply(std::string_view path)>; // path without the query

class http_server : public std::enable_shared_from_this<http_server> {
public:
    // Binds and listens now (a taken port fails here, with errc::listen or errc::bad_address);
    // accepts nothing before run(). With a disabled address, enabled() is false and run() returns
    // at once.
    static core::result<std::shared_ptr<http_server>>
    create(asio::any_io_executor executor, http_server_config config, async_handler handler);
    static core::result<std::shared_ptr<http_server>>
    create(asio::any_io_executor executor, http_server_config config, sync_handler handler);
    ~http_server();

    bool enabled() const noexcept { return enabled_; }
    // The bound port (the one picked for port 0); 0 when disabled.
    std::uint16_t port() const noexcept { return port_; }
    const endpoint& local_endpoint() const noexcept { return local_; }

    // Accepts and serves until stop() or until the awaiting task is cancelled; then closes every
    // connection and returns once their coroutines have ended. Call it once.
    awaitable<core::result<void>> run();
    // Stops accepting and closes open connections; run() then returns. Safe to call more than once.
    void stop();

    std::size_t active_connections() const noexcept { return active_; }

private:
    using handler = std::variant<async_handler, sync_handler>;
    http_server(asio::any_io_executor executor, http_server_config config, handler h);
    core::result<void> listen();
    static awaitable<void> serve(std::shared_ptr<http_server> self,
                                 std::shared_ptr<asio::ip::tcp::socket> socket);
    template <class Stream>
    static awaitable<void> exchange(std::shared_ptr<http_server> self, Stream& stream);
    awaitable<http_reply> dispatch(const http::request& request);
    void connection_ended(const std::shared_ptr<asio::ip::tcp::socket>& socket);

    asio::any_io_executor executor_;
    http_server_config config_;
    handler handler_;
    asio::ip::tcp::acceptor acceptor_;
    asio::steady_timer all_ended_; // a condition variable: cancelled when the last connection ends
    std::list<std::shared_ptr<asio::ip::tcp::socket>> sockets_;
    endpoint local_;
    std::size_t active_ = 0;
    std::uint16_t port_ = 0;
    bool enabled_ = false;
    bool stopped_ = false;
};

// "HTTP/1.1 200 OK\r\n..." with Content-Type, Content-Length and Connection. No I/O.
std::string serialize_reply(const http_reply& reply, bool keep_alive, bool head_request = false);

} // namespace kubecoro::net
