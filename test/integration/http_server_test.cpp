// net::http_server driven by net::connection on the same io_context.
#include "support.hpp"
#include <kubecoro/core/errc.hpp>
#include <kubecoro/http/response_parser.hpp>
#include <kubecoro/net/connection.hpp>
#include <kubecoro/net/errc.hpp>
#include <kubecoro/net/http_server.hpp>
#include <kubecoro/net/x509.hpp>

using namespace kubecoro;
using namespace std::chrono_literals;
using test::run_bounded;

namespace {

struct answer {
    int status = 0;
    std::string body;
    bool keep_alive = false;
};

awaitable<core::result<std::unique_ptr<net::connection>>> dial(std::uint16_t port) {
    // Named, not a temporary: g++ 12 mishandles aggregate temporaries passed to coroutines in co_await.
    net::connect_config config{{"127.0.0.1", port}, nullptr, 2000ms};
    co_return co_await net::connection::connect(std::move(config));
}

// Writes `raw` and reads one response.
awaitable<core::result<answer>> exchange(net::connection& conn, std::string raw) {
    if (auto w = co_await conn.write(raw); !w)
        co_return core::fail(std::move(w).error());
    http::response_parser parser;
    parser.reset(raw.rfind("HEAD", 0) == 0);
    answer out;
    std::array<char, 4096> buf;
    while (!parser.done()) {
        auto n = co_await conn.read_some(buf);
        if (!n)
            co_return core::fail(std::move(n).error());
        if (*n == 0) {
            if (auto eof = parser.finish_eof(); !eof)
                co_return core::fail(std::move(eof).error());
            break;
        }
        auto used = parser.feed(std::string_view(buf.data(), *n));
        if (!used)
            co_return core::fail(std::move(used).error());
        out.body += parser.take_body();
    }
    out.status = parser.head().status;
    out.keep_alive = parser.keep_alive();
    co_return out;
}

awaitable<core::result<answer>> get(std::uint16_t port, std::string path) {
    auto conn = co_await dial(port);
    if (!conn)
        co_return core::fail(std::move(conn).error());
    co_return co_await exchange(**conn, "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
}

net::http_reply probes(std::string_view path) {
    if (path == "/healthz")
        return {200, "text/plain; charset=utf-8", "ok\n", {}};
    if (path == "/readyz")
        return {503, "text/plain; charset=utf-8", "informers not synced\n", {}};
    return {404, "text/plain; charset=utf-8", "not found\n", {}};
}

awaitable<void> serve_and_probe(std::shared_ptr<net::http_server> server) {
    using namespace awaitable_operators;
    auto client_side = [](std::shared_ptr<net::http_server> s) -> awaitable<void> {
        auto port = s->port();
        auto healthz = co_await get(port, "/healthz?verbose");
        REQUIRE_MESSAGE(healthz, healthz.error().message);
        CHECK(healthz->status == 200);
        CHECK(healthz->body == "ok\n");
        CHECK_FALSE(healthz->keep_alive);

        auto readyz = co_await get(port, "/readyz");
        REQUIRE(readyz);
        CHECK(readyz->status == 503);
        CHECK(readyz->body == "informers not synced\n");

        auto missing = co_await get(port, "/nope");
        REQUIRE(missing);
        CHECK(missing->status == 404);

        // Keep-alive: two requests on one connection.
        auto conn = co_await dial(port);
        REQUIRE(conn);
        auto a = co_await exchange(**conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        REQUIRE(a);
        CHECK(a->keep_alive);
        auto b = co_await exchange(**conn, "HEAD /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
        REQUIRE(b);
        CHECK(b->status == 503);
        CHECK(b->body.empty());
        CHECK(s->active_connections() == 1);

        // Garbage gets a 400 and the connection closed.
        auto bad_conn = co_await dial(port);
        REQUIRE(bad_conn);
        auto bad = co_await exchange(**bad_conn, "NOT HTTP\r\n\r\n");
        REQUIRE_MESSAGE(bad, bad.error().message);
        CHECK(bad->status == 400);
        CHECK_FALSE(bad->keep_alive);

        s->stop();
    };
    auto served = co_await (server->run() && client_side(server));
    CHECK(served);
    CHECK(server->active_connections() == 0);
}

} // namespace

TEST_CASE("http_server answers probes from a sync handler, with keep-alive") {
    asio::io_context io;
    net::http_server_config cfg;
    cfg.address = "127.0.0.1:0";
    auto server = net::http_server::create(io.get_executor(), cfg, net::sync_handler(probes));
    REQUIRE_MESSAGE(server, server.error().message);
    CHECK((*server)->enabled());
    CHECK((*server)->port() != 0);
    CHECK((*server)->local_endpoint().host == "127.0.0.1");
    run_bounded(io, serve_and_probe(*server));
}

namespace {

awaitable<net::http_reply> metrics(const http::request& req) {
    co_await sleep_for(10ms); // an async handler may suspend
    if (req.target == "/throw")
        throw std::runtime_error("handler bug");
    co_return net::http_reply{
        200, "text/plain; version=0.0.4", "requests_total 1\n", {{"X-Method", req.method}}};
}

awaitable<void> async_and_limits(std::shared_ptr<net::http_server> server) {
    using namespace awaitable_operators;
    auto client_side = [](std::shared_ptr<net::http_server> s) -> awaitable<void> {
        auto port = s->port();
        auto m = co_await get(port, "/metrics");
        REQUIRE(m);
        CHECK(m->status == 200);
        CHECK(m->body == "requests_total 1\n");
        auto oops = co_await get(port, "/throw");
        REQUIRE(oops);
        CHECK(oops->status == 500);

        // An idle client is dropped after the read timeout.
        auto idle = co_await dial(port);
        REQUIRE(idle);
        std::array<char, 16> buf;
        auto start = std::chrono::steady_clock::now();
        auto n = co_await (*idle)->read_some(buf);
        REQUIRE(n);
        CHECK(*n == 0);
        CHECK(std::chrono::steady_clock::now() - start >= 150ms);

        // Beyond max_connections, new connections are closed at once.
        auto first = co_await dial(port);
        auto second = co_await dial(port);
        REQUIRE(first);
        REQUIRE(second);
        auto refused = co_await (*second)->read_some(buf);
        CHECK((!refused || *refused == 0));
        auto served = co_await exchange(**first, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        REQUIRE(served);
        CHECK(served->status == 200);
        // stop() closes the open keep-alive connection too.
        s->stop();
    };
    auto served = co_await (server->run() && client_side(server));
    CHECK(served);
    CHECK(server->active_connections() == 0);
}

awaitable<void> run_disabled(std::shared_ptr<net::http_server> server) {
    auto r = co_await server->run();
    CHECK(r);
}

awaitable<void> cancelled_run(std::shared_ptr<net::http_server> server) {
    using namespace awaitable_operators;
    auto outcome = co_await (server->run() || sleep_for(50ms));
    CHECK(outcome.index() == 1);
}

} // namespace

TEST_CASE("http_server with an async handler, a read timeout and a connection limit") {
    asio::io_context io;
    net::http_server_config cfg;
    cfg.address = "127.0.0.1:0";
    cfg.read_timeout = 200ms;
    cfg.max_connections = 1;
    auto server = net::http_server::create(io.get_executor(), cfg, net::async_handler(metrics));
    REQUIRE_MESSAGE(server, server.error().message);
    run_bounded(io, async_and_limits(*server));
}

TEST_CASE("http_server: disabled, taken port, cancelled run") {
    asio::io_context io;
    net::http_server_config off;
    off.address = "0";
    auto disabled = net::http_server::create(io.get_executor(), off, net::sync_handler(probes));
    REQUIRE(disabled);
    CHECK_FALSE((*disabled)->enabled());
    CHECK((*disabled)->port() == 0);
    run_bounded(io, run_disabled(*disabled));

    net::http_server_config cfg;
    cfg.address = "127.0.0.1:0";
    auto first = net::http_server::create(io.get_executor(), cfg, net::sync_handler(probes));
    REQUIRE(first);
    cfg.address = "127.0.0.1:" + std::to_string((*first)->port());
    auto taken = net::http_server::create(io.get_executor(), cfg, net::sync_handler(probes));
    REQUIRE_FALSE(taken);
    CHECK(taken.error().code == net::errc::listen);
    CHECK(taken.error().message.find(cfg.address) != std::string::npos);

    cfg.address = "nonsense";
    auto bad = net::http_server::create(io.get_executor(), cfg, net::sync_handler(probes));
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == net::errc::bad_address);

    run_bounded(io, cancelled_run(*first));
}

namespace {

awaitable<void> connect_failures(std::uint16_t closed_port) {
    net::connect_config to_closed{{"127.0.0.1", closed_port}, nullptr, 2000ms};
    auto refused = co_await net::connection::connect(std::move(to_closed));
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == net::errc::connect);
    CHECK(refused.error().message.find("connecting to 127.0.0.1:" + std::to_string(closed_port) +
                                       " failed") == 0);

    // A listener that never completes TLS handshakes: the connect timeout applies.
    auto ex = co_await asio::this_coro::executor;
    asio::ip::tcp::acceptor silent(ex, {asio::ip::make_address("127.0.0.1"), 0});
    auto tls = net::tls_context::create({});
    REQUIRE(tls);
    auto start = std::chrono::steady_clock::now();
    net::connect_config to_silent{{"127.0.0.1", silent.local_endpoint().port()}, *tls, 200ms};
    auto slow = co_await net::connection::connect(std::move(to_silent));
    REQUIRE_FALSE(slow);
    CHECK(slow.error().code == core::errc::timeout);
    CHECK(std::chrono::steady_clock::now() - start < 1500ms);
}

} // namespace

TEST_CASE("connection: refused and timed-out connects") {
    std::uint16_t port = 0;
    {
        asio::io_context io;
        asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
        port = a.local_endpoint().port();
    }
    run_bounded(connect_failures(port));
}

// --- TLS: the admission webhook's server ------------------------------------------------------

namespace {

struct tls_material {
    net::issued_certificate ca, leaf;
};

tls_material issue_for_localhost(std::string ca_name) {
    auto ca = net::issue_certificate({std::move(ca_name), {}, {}, std::chrono::hours(1), true});
    REQUIRE(ca);
    auto leaf =
        net::issue_certificate({"localhost", {"localhost"}, {"127.0.0.1"}, std::chrono::hours(1)}, &*ca);
    REQUIRE(leaf);
    return {*ca, *leaf};
}

std::shared_ptr<const net::tls_context> trusting(const std::string& ca_pem) {
    net::tls_config c;
    c.ca_pem = ca_pem;
    auto ctx = net::tls_context::create(c);
    REQUIRE(ctx);
    return *ctx;
}

awaitable<core::result<answer>> get_tls(std::uint16_t port, std::shared_ptr<const net::tls_context> tls) {
    net::connect_config config{{"127.0.0.1", port}, std::move(tls), 2000ms};
    auto conn = co_await net::connection::connect(std::move(config));
    if (!conn)
        co_return core::fail(std::move(conn).error());
    co_return co_await exchange(**conn, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
}

awaitable<void> tls_rotation(std::shared_ptr<net::http_server> server,
                             std::shared_ptr<std::shared_ptr<const net::tls_server_context>> serving,
                             tls_material first,
                             tls_material second) {
    using namespace awaitable_operators;
    auto client_side = [&]() -> awaitable<void> {
        auto port = server->port();
        auto ok = co_await get_tls(port, trusting(first.ca.certificate_pem));
        REQUIRE_MESSAGE(ok, ok.error().message);
        CHECK(ok->status == 200);
        CHECK(ok->body == "ok\n");
        // Plain HTTP to the TLS port gets no answer, and the server keeps serving.
        auto plain = co_await get(port, "/healthz");
        CHECK_FALSE(plain);
        // Rotated: the next connection is served the new certificate.
        auto next = net::tls_server_context::create(second.leaf.certificate_pem, second.leaf.key_pem);
        REQUIRE(next);
        *serving = *next;
        auto old_trust = co_await get_tls(port, trusting(first.ca.certificate_pem));
        REQUIRE_FALSE(old_trust);
        CHECK(old_trust.error().code == net::errc::tls_handshake);
        auto new_trust = co_await get_tls(port, trusting(second.ca.certificate_pem));
        REQUIRE_MESSAGE(new_trust, new_trust.error().message);
        CHECK(new_trust->status == 200);
        // No certificate to serve: the connection is closed.
        serving->reset();
        CHECK_FALSE(co_await get_tls(port, trusting(second.ca.certificate_pem)));
        server->stop();
    };
    co_await (server->run() && client_side());
}

} // namespace

TEST_CASE("http_server over TLS: serves the current certificate to each new connection") {
    asio::io_context io;
    auto first = issue_for_localhost("ca-1");
    auto second = issue_for_localhost("ca-2");
    auto initial = net::tls_server_context::create(first.leaf.certificate_pem, first.leaf.key_pem);
    REQUIRE(initial);
    auto serving = std::make_shared<std::shared_ptr<const net::tls_server_context>>(*initial);
    net::http_server_config cfg;
    cfg.address = "127.0.0.1:0";
    cfg.read_timeout = 500ms;
    cfg.tls = [serving] { return *serving; };
    auto server = net::http_server::create(io.get_executor(), cfg, net::sync_handler(probes));
    REQUIRE(server);
    run_bounded(io, tls_rotation(*server, serving, first, second));
}
