#include "detail_tls.hpp"
#include <kubecoro/core/errc.hpp>
#include <kubecoro/http/request_parser.hpp>
#include <kubecoro/net/errc.hpp>
#include <kubecoro/net/http_server.hpp>

#include <algorithm>
#include <array>
#include <exception>
#include <optional>

namespace kubecoro::net {

using tcp = asio::ip::tcp;

namespace {

using namespace awaitable_operators;

const char* reason_phrase(int status) {
    switch (status) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return status < 400 ? "OK" : "Error";
    }
}

http_reply plain_reply(int status, std::string body) {
    http_reply r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

} // namespace

std::string serialize_reply(const http_reply& reply, bool keep_alive, bool head_request) {
    std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " " + reason_phrase(reply.status) + "\r\n";
    if (!reply.content_type.empty())
        out += "Content-Type: " + reply.content_type + "\r\n";
    for (const auto& f : reply.fields)
        out += f.name + ": " + f.value + "\r\n";
    out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
    out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
    if (!head_request)
        out += reply.body;
    return out;
}

http_server::http_server(asio::any_io_executor executor, http_server_config config, handler h)
    : executor_(executor)
    , config_(std::move(config))
    , handler_(std::move(h))
    , acceptor_(executor)
    , all_ended_(executor, asio::steady_timer::time_point::max()) {}

http_server::~http_server() {
    std::error_code ec;
    acceptor_.close(ec);
}

core::result<std::shared_ptr<http_server>>
http_server::create(asio::any_io_executor executor, http_server_config config, async_handler h) {
    std::shared_ptr<http_server> server(new http_server(executor, std::move(config), handler(std::move(h))));
    if (auto r = server->listen(); !r)
        return core::fail(std::move(r).error());
    return server;
}

core::result<std::shared_ptr<http_server>>
http_server::create(asio::any_io_executor executor, http_server_config config, sync_handler h) {
    std::shared_ptr<http_server> server(new http_server(executor, std::move(config), handler(std::move(h))));
    if (auto r = server->listen(); !r)
        return core::fail(std::move(r).error());
    return server;
}

core::result<void> http_server::listen() {
    auto parsed = parse_listen_address(config_.address);
    if (!parsed)
        return core::fail(std::move(parsed).error());
    if (!*parsed)
        return {};
    const endpoint& ep = **parsed;
    std::error_code ec;
    tcp::endpoint where(asio::ip::make_address(ep.host, ec), ep.port);
    auto failed = [&](std::string_view step) {
        return core::fail(errc::listen,
                          std::string(step) + " " + ep.to_string() + " failed: " + ec.message());
    };
    if (ec)
        return failed("parsing");
    if (acceptor_.open(where.protocol(), ec); ec)
        return failed("opening a socket for");
    if (acceptor_.set_option(tcp::acceptor::reuse_address(true), ec); ec)
        return failed("setting SO_REUSEADDR for");
    if (acceptor_.bind(where, ec); ec)
        return failed("binding");
    if (acceptor_.listen(asio::socket_base::max_listen_connections, ec); ec)
        return failed("listening on");
    auto bound = acceptor_.local_endpoint(ec);
    if (ec)
        return failed("reading the address of");
    enabled_ = true;
    port_ = bound.port();
    local_ = endpoint{ep.host, port_};
    return {};
}

awaitable<core::result<void>> http_server::run() {
    auto self = shared_from_this();
    if (!enabled_)
        co_return core::result<void>{};
    core::result<void> outcome;
    while (!stopped_) {
        auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
        if (ec == asio::error::operation_aborted || stopped_)
            break;
        if (ec) {
            // Out of descriptors and the like: pause rather than spin, then keep serving.
            if (!co_await sleep_for(std::chrono::milliseconds(100)))
                break;
            continue;
        }
        if (active_ >= config_.max_connections) {
            socket.close(ec);
            continue;
        }
        // Replies (and TLS handshake flights) leave at once: no Nagle wait for the client's delayed ACK.
        socket.set_option(tcp::no_delay(true), ec);
        auto s = std::make_shared<tcp::socket>(std::move(socket));
        sockets_.push_back(s);
        ++active_;
        asio::co_spawn(
            executor_, serve(self, s), [self, s](std::exception_ptr) { self->connection_ended(s); });
    }
    stop();
    // A cancelled owner gets here too: wait for the connections regardless.
    co_await asio::this_coro::reset_cancellation_state();
    while (active_ > 0)
        co_await all_ended_.async_wait(use_tuple);
    co_return outcome;
}

void http_server::stop() {
    stopped_ = true;
    std::error_code ec;
    acceptor_.close(ec);
    for (auto& s : sockets_)
        s->close(ec);
}

void http_server::connection_ended(const std::shared_ptr<tcp::socket>& socket) {
    std::error_code ec;
    socket->close(ec);
    sockets_.remove(socket);
    if (--active_ == 0)
        all_ended_.cancel();
}

awaitable<http_reply> http_server::dispatch(const http::request& request) {
    if (auto* sync = std::get_if<sync_handler>(&handler_)) {
        std::string_view path = request.target;
        path = path.substr(0, path.find('?'));
        co_return (*sync)(path);
    }
    co_return co_await std::get<async_handler>(handler_)(request);
}

awaitable<void> http_server::serve(std::shared_ptr<http_server> self, std::shared_ptr<tcp::socket> socket) {
    if (!self->config_.tls)
        co_return co_await exchange(self, *socket);
    auto context = self->config_.tls();
    if (!context)
        co_return;
    asio::ssl::stream<tcp::socket&> tls(*socket, context->get().ctx);
    auto shaken = co_await (tls.async_handshake(asio::ssl::stream_base::server, use_tuple) ||
                            sleep_for(self->config_.read_timeout));
    if (shaken.index() == 1 || std::get<0>(std::get<0>(shaken)))
        co_return; // too slow, or not TLS, or a client that does not trust us
    co_await exchange(self, tls);
}

template <class Stream>
awaitable<void> http_server::exchange(std::shared_ptr<http_server> self, Stream& stream) {
    std::array<char, 4096> buffer;
    std::string pending;
    for (;;) {
        http::request_parser parser(http::request_limits{.max_body_bytes = self->config_.max_body_bytes});
        bool bad = false;
        // Between requests a kept-alive connection may wait idle_timeout; once a request has begun,
        // each read waits read_timeout and the whole request must arrive within request_timeout.
        std::optional<std::chrono::steady_clock::time_point> deadline;
        while (!parser.done()) {
            if (pending.empty()) {
                using clock = std::chrono::steady_clock;
                const clock::duration idle = self->config_.idle_timeout.count() > 0
                                                 ? self->config_.idle_timeout
                                                 : self->config_.read_timeout;
                const clock::duration wait =
                    deadline ? std::min<clock::duration>(self->config_.read_timeout, *deadline - clock::now())
                             : idle;
                if (wait <= std::chrono::steady_clock::duration::zero())
                    co_return; // too slow
                auto read =
                    co_await (stream.async_read_some(asio::buffer(buffer), use_tuple) || sleep_for(wait));
                if (read.index() == 1)
                    co_return; // idle or too slow
                auto [ec, n] = std::get<0>(read);
                if (ec)
                    co_return;
                pending.assign(buffer.data(), n);
                if (!deadline && self->config_.request_timeout.count() > 0)
                    deadline = std::chrono::steady_clock::now() + self->config_.request_timeout;
            }
            auto used = parser.feed(pending);
            if (!used) {
                bad = true;
                break;
            }
            pending.erase(0, *used);
        }
        bool keep_alive = self->config_.keep_alive && !bad;
        http_reply reply;
        bool head_request = false;
        if (bad) {
            reply = plain_reply(400, "bad request\n");
        } else {
            const http::request& request = parser.head();
            head_request = request.method == "HEAD";
            keep_alive = keep_alive && parser.keep_alive();
            try {
                reply = co_await self->dispatch(request);
            } catch (const std::exception&) {
                reply = plain_reply(500, "internal error\n");
            }
        }
        auto out = serialize_reply(reply, keep_alive, head_request);
        auto [ec, n] = co_await asio::async_write(stream, asio::buffer(out), use_tuple);
        (void)n;
        if (ec || !keep_alive) {
            std::error_code ignored;
            stream.lowest_layer().shutdown(tcp::socket::shutdown_send, ignored);
            co_return;
        }
    }
}

} // namespace kubecoro::net
